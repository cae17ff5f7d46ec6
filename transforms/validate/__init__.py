"""Validation against the standard: public API `validate_return(...)` and `validate_file(...)`.

Light to import: Great Expectations is imported only when the first return is validated.
"""

from transforms.validate.engine import implemented_rule_ids, validate_file, validate_return, warm_up
from transforms.validate.model import PreviousReturn, TypedReturn, ValidationResult

__all__ = [
    "PreviousReturn",
    "TypedReturn",
    "ValidationResult",
    "implemented_rule_ids",
    "validate_file",
    "validate_return",
    "warm_up",
]
