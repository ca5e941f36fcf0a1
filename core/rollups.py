"""Daily rollups: a completed response adds its metric values to per-day counters, in the same
transaction that completes it, so dashboards and scoring never scan raw responses."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from sqlalchemy import func
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import reporting_day, utcnow
from core.models import DailyRollup, Response

RESPONSES_METRIC = "responses"


async def add_completed_response(
    session: AsyncSession, response: Response, agency_id: int, metrics: Iterable[tuple[str, str]]
) -> None:
    """Count one completed response and its (metric, value) pairs into its day's rollup rows."""
    completed = response.completed_at or utcnow()
    counts = Counter(metrics)
    counts[(RESPONSES_METRIC, response.channel.value)] += 1
    rows = [
        {
            "day": reporting_day(completed).isoformat(),
            "agency_id": agency_id,
            "service_id": response.service_id,
            "service_point_key": response.service_point_id or 0,
            "metric": metric[:64],
            "value_key": value[:64],
            "count": count,
            "updated_at": utcnow(),
        }
        for (metric, value), count in sorted(counts.items())
    ]
    # One statement for all rows (executemany): built once, so compiled once; a VALUES list
    # of as many rows as this response has metrics was compiled afresh on every completion.
    await session.execute(_UPSERTS[session.get_bind().dialect.name], rows)


def _upsert(insert: Any) -> Any:
    table = DailyRollup.__table__
    statement = insert(table)
    return statement.on_conflict_do_update(
        index_elements=["day", "service_id", "service_point_key", "metric", "value_key"],
        set_={"count": table.c.count + statement.excluded.count, "updated_at": func.now()},
    )


_UPSERTS = {"postgresql": _upsert(postgresql.insert), "sqlite": _upsert(sqlite.insert)}
