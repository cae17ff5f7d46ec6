"""lscb-returns: portal."""
