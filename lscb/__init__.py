"""lscb-returns: the national LSCB quarterly return pipeline (data standard 1.0)."""

__version__ = "0.1.0"
