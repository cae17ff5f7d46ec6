"""Finding messages from the schema's templates, with a guard against echoing identifiers.

A message is `rule.message.format(...)` with the placeholders the template names. The values
come from a lazy lookup so that a placeholder is only computed when the template uses it, and
the lookup refuses, loudly, to supply the value of an identifier field (UPN, NHS number): a
template that would show one is a bug in the schema or in a rule, never something to print.
"""

from __future__ import annotations

import functools
import string
from collections.abc import Callable, Mapping

from schemas.standard import Rule, Standard, load_standard

# Placeholders whose value is the value of the finding's field or of the rule's second field.
VALUE_PLACEHOLDERS = frozenset({"value", "other", "length"})


class IdentifierLeak(RuntimeError):
    """A message would have shown the value of an identifier field."""


@functools.cache
def placeholders(template: str) -> tuple[str, ...]:
    return tuple(name for _, name, _, _ in string.Formatter().parse(template) if name)


def identifier_names(standard: Standard) -> frozenset[str]:
    return _identifier_names(standard.version)


@functools.cache
def _identifier_names(version: str) -> frozenset[str]:
    return frozenset(f.name for f in load_standard(version).identifier_fields)


def render(
    standard: Standard,
    rule: Rule,
    values: Mapping[str, Callable[[], object] | object],
    *,
    value_field: str | None,
    other_field: str | None = None,
) -> str:
    """Format `rule.message`; `values` maps placeholder -> value or zero-argument callable.

    `value_field` is the field whose value `{value}` / `{length}` would show, `other_field` the
    one `{other}` would show (None when `{other}` is a count or a previous figure). Raises
    IdentifierLeak when a placeholder would carry an identifier's value, KeyError when the
    template names a placeholder nobody supplied.
    """
    identifiers = identifier_names(standard)
    resolved: dict[str, object] = {}
    for name in placeholders(rule.message):
        if name in identifiers:
            raise IdentifierLeak(f"rule {rule.id}: message names the identifier field {name!r}")
        if name in ("value", "length") and value_field in identifiers:
            raise IdentifierLeak(f"rule {rule.id}: message would show the value of {value_field}")
        if name == "other" and other_field in identifiers:
            raise IdentifierLeak(f"rule {rule.id}: message would show the value of {other_field}")
        if name not in values:
            raise KeyError(f"rule {rule.id}: no value for placeholder {{{name}}}")
        supplied = values[name]
        resolved[name] = supplied() if callable(supplied) else supplied
    return rule.message.format(**resolved)
