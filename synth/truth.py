"""The synthetic world's ground truth against what the compile found: per rule X1-X6, per pair of
councils and per child (`lscb demo check`, and the demonstration year's ground-truth test).

A finding is anything with `rule, period, from_council_code, to_council_code,
from_local_child_id, to_local_child_id` (the compile's `CrossCouncilFinding`). X1-X5 are compared
child by child; X6 by the child's id in the council now responsible (the other council's id is
never part of an X6 finding), with `from` the council that recorded the signs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

RULES = ("X1", "X2", "X3", "X4", "X5", "X6")

Key = tuple[str, str, str, str, str | None, str | None]


class FindingLike(Protocol):
    @property
    def rule(self) -> str: ...
    @property
    def period(self) -> str: ...
    @property
    def from_council_code(self) -> str: ...
    @property
    def to_council_code(self) -> str: ...
    @property
    def from_local_child_id(self) -> str | None: ...
    @property
    def to_local_child_id(self) -> str | None: ...


@dataclass(frozen=True)
class RuleCheck:
    rule: str
    expected: int  # cases the world holds
    found: int  # findings the compile made
    missing: int  # in the world, not found
    extra: int  # found, not in the world
    pairs_expected: int  # pairs of councils (per period) the world holds for the rule
    pairs_differing: int  # pairs whose count differs

    @property
    def exact(self) -> bool:
        return self.missing == 0 and self.extra == 0 and self.pairs_differing == 0


@dataclass(frozen=True)
class TruthCheck:
    rules: list[RuleCheck]
    extra_examples: list[Key]
    missing_examples: list[Key]

    @property
    def exact(self) -> bool:
        return all(r.exact for r in self.rules)

    def lines(self) -> list[str]:
        out = [f"{'rule':<5}{'world':>7}{'found':>7}{'missing':>9}{'extra':>7}{'pairs':>7}{'differ':>8}"]
        for r in self.rules:
            out.append(
                f"{r.rule:<5}{r.expected:>7}{r.found:>7}{r.missing:>9}{r.extra:>7}{r.pairs_expected:>7}"
                f"{r.pairs_differing:>8}"
            )
        return out


def _key(item: Mapping[str, Any] | FindingLike) -> Key:
    get = item.get if isinstance(item, Mapping) else (lambda name: getattr(item, name))
    rule = str(get("rule"))
    from_id = None if rule == "X6" else (get("from_local_child_id") or None)
    return (
        rule,
        str(get("period")),
        str(get("from_council_code")),
        str(get("to_council_code")),
        from_id,
        get("to_local_child_id") or None,
    )


def world_cases(truth: Mapping[str, Any], periods: Iterable[str] | None = None) -> list[Key]:
    """The X1-X6 cases of a ground truth (`ground_truth.json`), optionally for some periods."""
    wanted = None if periods is None else set(periods)
    cases = [_key(c) for c in [*truth.get("cross_council", []), *truth.get("whole_picture", [])]]
    return [c for c in cases if wanted is None or c[1] in wanted]


def compare(found: Iterable[Mapping[str, Any] | FindingLike], truth: Mapping[str, Any]) -> TruthCheck:
    """Per rule, per pair and per child: the compile's findings against the world's cases."""
    got = Counter(_key(f) for f in found)
    want = Counter(world_cases(truth))
    rules = []
    for rule in RULES:
        mine = Counter({k: n for k, n in got.items() if k[0] == rule})
        world = Counter({k: n for k, n in want.items() if k[0] == rule})
        pairs_mine = Counter(k[:4] for k in mine.elements())
        pairs_world = Counter(k[:4] for k in world.elements())
        differing = sum(1 for pair in set(pairs_mine) | set(pairs_world) if pairs_mine[pair] != pairs_world[pair])
        rules.append(
            RuleCheck(
                rule,
                expected=sum(world.values()),
                found=sum(mine.values()),
                missing=sum((world - mine).values()),
                extra=sum((mine - world).values()),
                pairs_expected=len(pairs_world),
                pairs_differing=differing,
            )
        )
    return TruthCheck(rules, sorted(got - want)[:10], sorted(want - got)[:10])
