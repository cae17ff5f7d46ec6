"""What the national compile reads from the store, as frames.

`load_national(engine, through)` returns `NationalData` for every period up to `through`: every
submission version (with its open-query count, `store.queries.query_is_open`), and the Strategy and Activity facts and
child records of each council's current version (`store.queries.current_version_ids`).
Everything downstream (`transforms.link`, `transforms.measures`, `reports.*`) is pure.
"""

from __future__ import annotations

from collections.abc import Collection

import pandas as pd
from sqlalchemy import Connection, Engine, Table, func, select

from schemas.calendar import Period
from store.engine import get_engine
from store.models import (
    Explanation,
    FindingRecord,
    Submission,
    activity_facts,
    child_records,
    strategy_facts,
)
from store.queries import current_version_ids, explanation_matches, query_is_open
from transforms.measures import NationalData


def load_national(
    engine: Engine | str,
    through: Period,
    *,
    since: Period | None = None,
    records: bool = True,
    councils: Collection[str] | None = None,
) -> NationalData:
    """Everything the compile needs for periods `since`..`through` (codes `YYYY-Qn` sort in order).

    `records=False` reads the submissions only (the tracker needs no facts or child records);
    `councils`: only these council codes' submissions (one council's page needs no others)."""
    engine = get_engine(engine)
    conditions = [Submission.period <= through.code]
    if since is not None:
        conditions.append(Submission.period >= since.code)
    if councils is not None:
        conditions.append(Submission.council_code.in_(list(councils)))
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
            .outerjoin(Explanation, explanation_matches())
            .join(Submission, Submission.id == FindingRecord.submission_id)
            .where(query_is_open(), *conditions)
            .group_by(FindingRecord.submission_id),
            connection,
        )
        subs = subs.merge(unexplained, on="submission_id", how="left")
        subs["open_queries"] = subs["open_queries"].fillna(0).astype(int)
        subs["received_at"] = pd.to_datetime(subs["received_at"], utc=True)
        if not records:
            return NationalData.empty().with_submissions(subs)
        current_ids = [int(i) for i in connection.execute(current_version_ids(*conditions)).scalars()]
        strategy = _facts(connection, strategy_facts, subs, current_ids)
        activity = _facts(connection, activity_facts, subs, current_ids)
        children = _read_in(connection, child_records, current_ids)
    return NationalData(submissions=subs, strategy=strategy, activity=activity, children=children)


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
