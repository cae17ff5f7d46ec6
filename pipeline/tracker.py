"""The submission tracker of one period, from the store: the function the portal's national page
shows and the compile writes to `tracker.csv` (`transforms.measures.tracker`), so both always
say the same thing about every council (state, versions, lateness)."""

from __future__ import annotations

from datetime import date

import pandas as pd
from sqlalchemy import Engine

from schemas.calendar import Period
from schemas.register import Register
from store.engine import get_engine
from store.national import load_national
from transforms.measures import tracker


def period_tracker(
    engine: Engine | str, period: Period, *, today: date | None = None, register: Register | None = None
) -> pd.DataFrame:
    """One row per council the register expects for `period` (see `transforms.measures.tracker`)."""
    data = load_national(get_engine(engine), period, since=period, records=False)
    return tracker([period], data, register=register, today=today)


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
