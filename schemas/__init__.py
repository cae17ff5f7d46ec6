"""lscb-returns: schemas."""
