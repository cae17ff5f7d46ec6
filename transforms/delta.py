"""Deltas of a JSON return (standard §8), pure: the state a delta applies to, and applying it.

A delta upserts children by `local_child_id` (a child sent is its whole new record), removes a
child sent as `{"local_child_id": ..., "purge": true}`, and replaces `about`, `strategy` or
`activity` when present. The result is a whole return, validated with every rule as a file is.

The state kept between submissions (`state_of`) cannot hold a raw UPN, NHS number or date of
birth (§6), so a child carried over unchanged keeps instead what was made of them when they
came in: its keys, its birth month, and the findings of the rules about those fields (every
such rule looks at one child's own values, so they cannot change while the child does not).
To validate the whole return, `apply_delta` puts valid stand-ins in those fields; `carry_over`
then puts back the child's own keys and findings in their place. So a sequence of deltas stores
exactly what the equivalent full return stores, findings included.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from schemas.identifiers import nhs_check_digit, upn_check_letter
from schemas.json_schema import PURGE
from transforms.findings import Finding

IDENTITY_FIELDS = ("upn", "nhs_number", "date_of_birth")
KEYS = ("upn_key", "nhs_key", "birth_month")
_UPN_BODY = "80500000001" + "0"
STAND_IN = {
    "upn": upn_check_letter(_UPN_BODY) + _UPN_BODY,
    "nhs_number": "943476591" + str(nhs_check_digit("943476591")),
    "date_of_birth": "2010-01-01",
}
CHILDREN = "children"


@dataclass(frozen=True)
class Carried:
    """A child carried over unchanged: its keys and its findings on the identity fields."""

    keys: dict[str, Any]
    findings: tuple[dict[str, Any], ...]
    present: tuple[str, ...]  # which identity fields it had (a stand-in goes only where one was)


def state_of(
    document: dict[str, Any],
    keys: list[dict[str, Any]],
    findings: list[Finding],
    carried: dict[int, Carried] | None = None,
) -> dict[str, Any]:
    """What is kept for the next delta: the return with each child's identity fields replaced by
    its keys (`keys[i]`: upn_key, nhs_key, birth_month), and its findings on those fields."""
    carried = carried or {}
    state = {k: copy.deepcopy(v) for k, v in document.items() if k != CHILDREN}
    children = []
    by_child: dict[int, list[dict[str, Any]]] = {}
    for f in findings:
        if f.sheet == "Children" and f.field in IDENTITY_FIELDS and f.row is not None:
            by_child.setdefault(f.row, []).append(
                {"rule": f.rule, "severity": f.severity, "field": f.field, "message": f.message}
            )
    for index, child in enumerate(document.get(CHILDREN, [])):
        kept = {k: v for k, v in child.items() if k not in IDENTITY_FIELDS and k != PURGE}
        if index in carried:
            kept["_keys"] = dict(carried[index].keys)
            kept["_present"] = list(carried[index].present)
        else:
            kept["_keys"] = {k: keys[index].get(k) for k in KEYS}
            kept["_present"] = [f for f in IDENTITY_FIELDS if child.get(f) is not None]
        kept["_findings"] = by_child.get(index, [])
        children.append(kept)
    state[CHILDREN] = children
    return state


def apply_delta(state: dict[str, Any], delta: dict[str, Any]) -> tuple[dict[str, Any], dict[int, Carried]]:
    """The whole return after `delta`, with stand-ins for the carried children's identity
    fields, and the carried children by their index in it."""
    document = {k: copy.deepcopy(v) for k, v in state.items() if k != CHILDREN}
    for part, value in delta.items():
        if part != CHILDREN:
            document[part] = copy.deepcopy(value)
    children: list[dict[str, Any] | None] = list(state.get(CHILDREN, []))
    position = {c.get("local_child_id"): i for i, c in enumerate(children) if c is not None}
    sent: set[int] = set()
    for child in delta.get(CHILDREN, []):
        local_id = child.get("local_child_id")
        at = position.get(local_id)
        if child.get(PURGE) is True:
            if at is not None:
                children[at] = None
                del position[local_id]
            continue
        record = {k: v for k, v in child.items() if k != PURGE}
        if at is None:
            position[local_id] = len(children)
            sent.add(len(children))
            children.append(record)
        else:
            children[at] = record
            sent.add(at)
    merged: list[dict[str, Any]] = []
    carried: dict[int, Carried] = {}
    for i, child in enumerate(children):
        if child is None:
            continue
        if i in sent:
            merged.append(child)
            continue
        present = tuple(child.get("_present", ()))
        record = {k: v for k, v in child.items() if not k.startswith("_")}
        for name in present:
            record[name] = STAND_IN[name]
        carried[len(merged)] = Carried(dict(child.get("_keys", {})), tuple(child.get("_findings", ())), present)
        merged.append(record)
    document[CHILDREN] = merged
    return document, carried


def carry_over(findings: list[Finding], carried: dict[int, Carried], document: dict[str, Any]) -> list[Finding]:
    """The findings of the whole return (located by pointer, `row` the child's index) with each
    carried child's findings on its identity fields put back in place of what its stand-ins gave."""
    out = [f for f in findings if not (f.sheet == "Children" and f.row in carried and f.field in IDENTITY_FIELDS)]
    children = document.get(CHILDREN, [])
    for index, child in carried.items():
        local_id = children[index].get("local_child_id")
        for f in child.findings:
            out.append(
                Finding(
                    rule=f["rule"],
                    severity=f["severity"],
                    sheet="Children",
                    cell=f"/{CHILDREN}/{index}/{f['field']}",
                    field=f["field"],
                    local_child_id=None if local_id is None else str(local_id),
                    message=f["message"],
                    row=index,
                )
            )
    return out


def delta_between(previous: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    """The delta from `previous` to `current` (what `lscb push --delta-from` sends): every child
    new or changed, whole; `purge` for every child gone; a part replaced only when it changed."""
    delta: dict[str, Any] = {}
    for part, value in current.items():
        if part != CHILDREN and previous.get(part) != value:
            delta[part] = value
    before = {c.get("local_child_id"): c for c in previous.get(CHILDREN, [])}
    now_ids = {c.get("local_child_id") for c in current.get(CHILDREN, [])}
    children = [c for c in current.get(CHILDREN, []) if before.get(c.get("local_child_id")) != c]
    children += [{"local_child_id": local_id, PURGE: True} for local_id in before if local_id not in now_ids]
    if children:
        delta[CHILDREN] = children
    return delta
