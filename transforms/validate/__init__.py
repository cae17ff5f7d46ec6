"""Validation against the standard: public API `validate_return(...)` and `validate_file(...)`."""
