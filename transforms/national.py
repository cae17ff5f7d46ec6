"""The one place the national compile reads the store (all SQL of issue 5 lives here).

`load_national(through)` returns `NationalData` for every period up to `through`: every
submission version (with its unexplained-query count), and the Strategy and Activity facts and
child records of each council's current version (its latest accepted or signed-off version).
Everything downstream (`transforms.link`, `transforms.measures`, `reports.*`) is pure.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Connection, Engine, Table, and_, func, select

from transforms.measures import CURRENT_STATUSES, NationalData
from transforms.store.engine import get_engine
from transforms.store.models import (
    Explanation,
    FindingRecord,
    Submission,
    activity_facts,
    child_records,
    strategy_facts,
)


def load_national(through: str, *, database_url: Engine | str | None = None, since: str | None = None) -> NationalData:
    """Everything the compile needs for periods `since`..`through` (codes `YYYY-Qn` sort in order)."""
    engine = get_engine(database_url)
    conditions = [Submission.period <= through]
    if since:
        conditions.append(Submission.period >= since)
    with engine.connect() as connection:
        subs = pd.read_sql(
            select(
                Submission.id.label("submission_id"),
                Submission.council_code,
                Submission.period,
                Submission.version,
                Submission.status,
                Submission.received_at,
                Submission.late,
                Submission.errors,
                Submission.queries,
            ).where(*conditions),
            connection,
        )
        unexplained = pd.read_sql(
            select(FindingRecord.submission_id, func.count().label("open_queries"))
            .outerjoin(
                Explanation,
                and_(
                    Explanation.submission_id == FindingRecord.submission_id,
                    Explanation.rule == FindingRecord.rule,
                    Explanation.row == FindingRecord.row,
                ),
            )
            .join(Submission, Submission.id == FindingRecord.submission_id)
            .where(FindingRecord.severity == "Q", Explanation.id.is_(None), *conditions)
            .group_by(FindingRecord.submission_id),
            connection,
        )
        subs = subs.merge(unexplained, on="submission_id", how="left")
        subs["open_queries"] = subs["open_queries"].fillna(0).astype(int)
        subs["received_at"] = pd.to_datetime(subs["received_at"], utc=True)
        current_ids = _current_ids(subs)
        strategy = _facts(connection, strategy_facts, subs, current_ids)
        activity = _facts(connection, activity_facts, subs, current_ids)
        children = _read_in(connection, child_records, current_ids)
    return NationalData(submissions=subs, strategy=strategy, activity=activity, children=children)


def _current_ids(subs: pd.DataFrame) -> list[int]:
    current = subs[subs["status"].isin(CURRENT_STATUSES)]
    if current.empty:
        return []
    latest = current.sort_values("version").groupby(["council_code", "period"]).tail(1)
    return [int(i) for i in latest["submission_id"]]


def _read_in(connection: Connection, table: Table, ids: list[int], chunk: int = 500) -> pd.DataFrame:
    frames = []
    for start in range(0, len(ids), chunk):
        part = ids[start : start + chunk]
        frames.append(pd.read_sql(select(table).where(table.c.submission_id.in_(part)), connection))
    if not frames:
        return pd.DataFrame(columns=[c.name for c in table.columns])
    return pd.concat(frames, ignore_index=True)


def _facts(connection: Connection, table: Table, subs: pd.DataFrame, ids: list[int]) -> pd.DataFrame:
    facts = _read_in(connection, table, ids)
    keys = subs[["submission_id", "council_code", "period"]]
    return facts.merge(keys, on="submission_id", how="left")
