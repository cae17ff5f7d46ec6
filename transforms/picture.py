"""X6, the whole picture (standard section 5): what a child's linked records in other councils
show that the council now responsible for the child does not.

For each child open at the end of period P in council B, the linked records of the last 12
months (P and the three quarters before) in other councils are compared with B's own record of
the child for P. A sign is:

- `indicators`: an indicator (`ind_*`) recorded Y elsewhere and not Y in B's record;
- `missing`: missing episodes elsewhere while B's record has none;
- `risk`: a risk level elsewhere higher than B's;
- `no_return_interview`: missing episodes with no return interview offered elsewhere, while B's
  record does not show that itself.

"Another council" is one that is neither B nor a predecessor or successor of B (a reorganised
council's records are B's own). One picture per child, council and period, with any sign; the
picture is data (which indicators, where, when, the highest risk level, the missing episodes),
naming councils and periods only: never another council's local_child_id, never a key.

Pure: `whole_pictures` works on the records `transforms.link.prepare` makes (with the child
number `transforms.link.cluster` gives); `transforms.link.link` calls it and gives each picture
its stable identity.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from schemas.standard import load_standard

RULE = "X6"
WINDOW_QUARTERS = 4  # the period and the three before it: the last 12 months
RISK_ORDER = {"LOW": 1, "MEDIUM": 2, "HIGH": 3}
SIGNS = ("indicators", "missing", "risk", "no_return_interview")
YES = "Y"


def _indicators() -> tuple[str, ...]:
    return tuple(f.name for f in load_standard().sheet("Children").fields if f.indicator)


INDICATORS = _indicators()
PICTURE_COLUMNS = (*INDICATORS, "risk_level", "missing_episodes", "return_interview_offered")


def indicator_label(name: str) -> str:
    """`ind_sti` -> "sexually transmitted infection" (from the standard's hint)."""
    hint = load_standard().sheet("Children").field(name).hint
    label = hint.split(":", 1)[1] if hint.startswith("Indicator:") else name.removeprefix("ind_").replace("_", " ")
    return label.split("(")[0].strip().rstrip(".").strip()


@dataclass(frozen=True, order=True)
class Seen:
    """Where something was recorded: a council and a period (never the council's id)."""

    council_code: str
    period: str


@dataclass(frozen=True)
class WholePicture:
    """What other councils' records of one child show that council B's record for `period` does not.

    `child`: the child's cluster number in the linkage run (to count children, never stored).
    """

    period: str
    council_code: str  # B, the council now responsible
    local_child_id: str | None  # B's own id
    elsewhere: tuple[Seen, ...]  # every other council's record of the child in the window
    indicators: tuple[tuple[str, Seen], ...]  # (indicator, where): Y there, not Y in B's record
    risk_level_here: str | None
    highest_risk_level: str | None  # the highest elsewhere, when higher than B's (else None)
    highest_risk_at: tuple[Seen, ...]
    missing_episodes_here: int
    missing_episodes_elsewhere: int  # total over the other councils' records in the window
    missing_at: tuple[Seen, ...]  # where those episodes were recorded
    no_return_interview: tuple[Seen, ...]  # missing episodes there, no return interview offered
    child: int = -1

    @property
    def signs(self) -> tuple[str, ...]:
        """The kinds of sign the picture holds (`SIGNS`, in that order)."""
        fired = {
            "indicators": bool(self.indicators),
            "missing": self.missing_episodes_elsewhere > 0 and self.missing_episodes_here == 0,
            "risk": self.highest_risk_level is not None,
            "no_return_interview": bool(self.no_return_interview),
        }
        return tuple(kind for kind in SIGNS if fired[kind])

    @property
    def other_councils(self) -> tuple[str, ...]:
        """The other councils, most recent record first."""
        latest: dict[str, str] = {}
        for seen in self.elsewhere:
            latest[seen.council_code] = max(latest.get(seen.council_code, ""), seen.period)
        return tuple(sorted(latest, key=lambda code: (latest[code], code), reverse=True))

    def to_json(self) -> dict[str, Any]:
        """Plain data for the store (no cluster number: it means nothing outside one run)."""

        def seen(items: Iterable[Seen]) -> list[dict[str, str]]:
            return [{"council_code": s.council_code, "period": s.period} for s in items]

        return {
            "signs": list(self.signs),
            "elsewhere": seen(self.elsewhere),
            "indicators": [{"indicator": name, **seen([at])[0]} for name, at in self.indicators],
            "risk_level_here": self.risk_level_here,
            "highest_risk_level": self.highest_risk_level,
            "highest_risk_at": seen(self.highest_risk_at),
            "missing_episodes_here": self.missing_episodes_here,
            "missing_episodes_elsewhere": self.missing_episodes_elsewhere,
            "missing_at": seen(self.missing_at),
            "no_return_interview": seen(self.no_return_interview),
        }

    @classmethod
    def from_json(
        cls, data: Mapping[str, Any], *, period: str, council_code: str, local_child_id: str | None
    ) -> WholePicture:
        def seen(items: Iterable[Mapping[str, str]]) -> tuple[Seen, ...]:
            return tuple(Seen(str(s["council_code"]), str(s["period"])) for s in items)

        return cls(
            period=period,
            council_code=council_code,
            local_child_id=local_child_id,
            elsewhere=seen(data.get("elsewhere", ())),
            indicators=tuple(
                (str(i["indicator"]), Seen(str(i["council_code"]), str(i["period"])))
                for i in data.get("indicators", ())
            ),
            risk_level_here=data.get("risk_level_here"),
            highest_risk_level=data.get("highest_risk_level"),
            highest_risk_at=seen(data.get("highest_risk_at", ())),
            missing_episodes_here=int(data.get("missing_episodes_here") or 0),
            missing_episodes_elsewhere=int(data.get("missing_episodes_elsewhere") or 0),
            missing_at=seen(data.get("missing_at", ())),
            no_return_interview=seen(data.get("no_return_interview", ())),
        )


def describe(picture: WholePicture, name: Callable[[str], str]) -> list[str]:
    """The signs in words, one line each, councils by `name(code)`: what a council officer reads."""

    def where(items: Iterable[Seen]) -> str:
        by_council: dict[str, list[str]] = defaultdict(list)
        for s in sorted(set(items), key=lambda s: (s.period, s.council_code)):
            by_council[s.council_code].append(s.period)
        return "; ".join(f"{name(code)} in {', '.join(periods)}" for code, periods in by_council.items())

    lines = []
    by_indicator: dict[str, list[Seen]] = defaultdict(list)
    for indicator, at in picture.indicators:
        by_indicator[indicator].append(at)
    for indicator in INDICATORS:
        if indicator in by_indicator:
            lines.append(f"{indicator_label(indicator).capitalize()} recorded by {where(by_indicator[indicator])}")
    signs = picture.signs
    if "missing" in signs:
        n = picture.missing_episodes_elsewhere
        lines.append(f"{n} missing episode{'s' if n != 1 else ''} recorded by {where(picture.missing_at)}")
    if "risk" in signs:
        here = (picture.risk_level_here or "not recorded").lower()
        lines.append(
            f"Risk assessed as {str(picture.highest_risk_level).lower()} by {where(picture.highest_risk_at)} "
            f"({here} in your return)"
        )
    if "no_return_interview" in signs:
        lines.append(f"No return interview offered after missing episodes: {where(picture.no_return_interview)}")
    return lines


def summary(picture: WholePicture, name: Callable[[str], str]) -> str:
    """The signs in one phrase, for the rule's message."""
    return "; ".join(line[:1].lower() + line[1:] for line in describe(picture, name))


# --------------------------------------------------------------------------------------------
# The rule


def _yes(value: object) -> bool:
    return isinstance(value, str) and value.strip().upper() == YES


def _episodes(value: object) -> int:
    if value is None or value is pd.NA:
        return 0
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0
    return 0 if np.isnan(number) else max(0, int(number))


def _no(value: object) -> bool:
    return isinstance(value, str) and value.strip().upper() == "N"


def _risk(value: object) -> int:
    return RISK_ORDER.get(str(value).strip().upper(), 0) if isinstance(value, str) else 0


def whole_pictures(
    children: Iterable[int],
    by_child: Mapping[int, list[int]],
    cols: Mapping[str, np.ndarray],
    *,
    related: Callable[[str, str], bool],
) -> list[tuple[WholePicture, int]]:
    """X6 for every child in `children` (cluster numbers; only children seen in more than one
    council can have a picture) and every period it is open at the end in a council: the
    pictures with any sign, each with the row of B's record it is about.

    `cols`: the columns of `transforms.link.prepare`'s records (with `child`, and the picture's
    columns when the records have them), as arrays; `related(a, b)`: a and b are one council
    through a recode or a reorganisation."""
    out: list[tuple[WholePicture, int]] = []
    for child in children:
        rows = by_child[child]
        here_rows: dict[tuple[int, str], list[int]] = defaultdict(list)  # (period, lineage) -> rows
        for j in rows:
            here_rows[(int(cols["p"][j]), cols["lineage"][j])].append(j)
        for (p, _lineage), mine in sorted(here_rows.items()):
            open_rows = [j for j in mine if cols["open_at_end"][j]]
            if not open_rows:
                continue
            b_row = min(open_rows, key=lambda j: (cols["council_code"][j], str(cols["local_child_id"][j])))
            b = cols["council_code"][b_row]
            others = [
                k
                for k in rows
                if p - WINDOW_QUARTERS < int(cols["p"][k]) <= p and not related(cols["council_code"][k], b)
            ]
            if others:
                picture = _picture(child, b_row, mine, others, cols=cols)
                if picture.signs:
                    out.append((picture, b_row))
    return out


def _picture(
    child: int, b_row: int, mine: list[int], others: list[int], *, cols: Mapping[str, np.ndarray]
) -> WholePicture:
    def seen(k: int) -> Seen:
        return Seen(str(cols["council_code"][k]), str(cols["period"][k]))

    here_indicators = {name for name in INDICATORS for j in mine if _yes(cols[name][j])}
    indicators = sorted(
        {(name, seen(k)) for k in others for name in INDICATORS if _yes(cols[name][k]) and name not in here_indicators},
        key=lambda item: (INDICATORS.index(item[0]), item[1].period, item[1].council_code),
    )
    risk_here = max((_risk(cols["risk_level"][j]) for j in mine), default=0)
    risk_elsewhere = max((_risk(cols["risk_level"][k]) for k in others), default=0)
    higher = risk_elsewhere > risk_here
    missing_here = sum(_episodes(cols["missing_episodes"][j]) for j in mine)
    missing_elsewhere = {k: _episodes(cols["missing_episodes"][k]) for k in others}

    def without_interview(k: int) -> bool:
        return _episodes(cols["missing_episodes"][k]) > 0 and _no(cols["return_interview_offered"][k])

    here_shows_no_interview = any(without_interview(j) for j in mine)
    names = {v: k for k, v in RISK_ORDER.items()}
    return WholePicture(
        period=str(cols["period"][b_row]),
        council_code=str(cols["council_code"][b_row]),
        local_child_id=cols["local_child_id"][b_row],
        elsewhere=tuple(sorted({seen(k) for k in others}, key=lambda s: (s.period, s.council_code))),
        indicators=tuple(indicators),
        risk_level_here=names.get(risk_here),
        highest_risk_level=names[risk_elsewhere] if higher else None,
        highest_risk_at=tuple(sorted({seen(k) for k in others if _risk(cols["risk_level"][k]) == risk_elsewhere}))
        if higher
        else (),
        missing_episodes_here=missing_here,
        missing_episodes_elsewhere=sum(missing_elsewhere.values()),
        missing_at=tuple(sorted({seen(k) for k, n in missing_elsewhere.items() if n > 0})),
        no_return_interview=()
        if here_shows_no_interview
        else tuple(sorted({seen(k) for k in others if without_interview(k)})),
        child=int(child),
    )


# --------------------------------------------------------------------------------------------
# Counts (analysts and the publication see counts per council and region, never the children)


def children_by_council(pictures: Iterable[WholePicture], lineage: Callable[[str], str]) -> dict[str, int]:
    """Distinct children with a picture, per council lineage (a child counts once per council,
    however many periods)."""
    seen: dict[str, set[int]] = defaultdict(set)
    for picture in pictures:
        seen[lineage(picture.council_code)].add(picture.child)
    return {code: len(children) for code, children in seen.items()}
