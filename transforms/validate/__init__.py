"""Validation against the standard: public API `validate_return(...)` and `validate_file(...)`.

No Great Expectations on this path: the standard's expectations run in `transforms.validate.evaluate`.
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
