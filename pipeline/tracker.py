"""The submission tracker from the store: the function the portal's pages show (the national
page a period at a time, a council's page a council at a time) and the compile writes to
`tracker.csv` (`transforms.measures.tracker`), so they always say the same thing about every
council (state, versions, lateness)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import pandas as pd
from sqlalchemy import Engine

from schemas.calendar import Period
from schemas.register import Register, load_register
from store.engine import get_engine
from store.national import load_national
from transforms.measures import TRACKER_COLUMNS, tracker


def period_tracker(
    engine: Engine | str, period: Period, *, today: date | None = None, register: Register | None = None
) -> pd.DataFrame:
    """One row per council the register expects for `period` (see `transforms.measures.tracker`)."""
    data = load_national(get_engine(engine), period, since=period, records=False)
    return tracker([period], data, register=register, today=today)


def council_tracker(
    engine: Engine | str,
    council_code: str,
    periods: Iterable[Period],
    *,
    today: date | None = None,
    register: Register | None = None,
) -> pd.DataFrame:
    """The tracker's rows for one council over `periods`: one per period in which the register
    expects the council (or, across a recode, the code it has then), in the order of `periods`.

    The tracker follows a council through recodes, so the store is read for every code of the
    council's lineage; the rows are those `period_tracker` gives for the same council."""
    register = register or load_register()
    wanted = list(periods)
    if not wanted:
        return pd.DataFrame(columns=TRACKER_COLUMNS)
    lineage = register.lineage_id(council_code)
    codes = [c.council_code for c in register.all() if register.lineage_id(c.council_code) == lineage]
    first, last = min(wanted, key=lambda p: p.code), max(wanted, key=lambda p: p.code)
    data = load_national(get_engine(engine), last, since=first, records=False, councils=codes)
    frame = tracker(wanted, data, register=register, today=today)
    mine = frame["council_code"].map(register.lineage_id) == lineage
    return frame[mine].reset_index(drop=True)


def period_summary(engine: Engine | str, period: Period, *, today: date | None = None) -> dict[str, object]:
    """Headline counts of a period, from the tracker: councils expected, returns by state, late
    returns (as the tracker marks them), and versions stored by status."""
    data = load_national(get_engine(engine), period, since=period, records=False)
    tracked = tracker([period], data, today=today)
    subs = data.submissions
    by_state = {state: int(n) for state, n in tracked["state"].value_counts().sort_index().items()}
    late = tracked["late"].fillna(False).astype(bool) & (tracked["state"] != "not_received")
    return {
        "period": period.code,
        "expected_councils": len(tracked),
        "by_state": by_state,
        "councils_with_a_return": int((tracked["state"] != "not_received").sum()),
        "no_return": int((tracked["state"] == "not_received").sum()),
        "late_returns": int(late.sum()),
        "versions_stored": len(subs),
        "versions_by_status": {status: int(n) for status, n in subs["status"].value_counts().sort_index().items()},
        "max_versions_per_council": int(tracked["versions"].max() or 0) if len(tracked) else 0,
    }
