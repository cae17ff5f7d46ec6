"""lscb-returns: reports."""
