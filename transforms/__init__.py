"""lscb-returns: transforms."""
