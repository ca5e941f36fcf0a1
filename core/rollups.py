"""Daily rollups: a completed response adds its metric values to per-day counters, in the same
transaction that completes it, so dashboards and scoring never scan raw responses.

`rollup_rows` is the one definition of what a response adds; `add_rollup_rows` adds any number
of such rows in bulk (the demo loader sums many responses' rows first, with `merge_rollup_rows`,
and gets the same counters as completing them one by one).

A completion counts on the reporting day it completes, so only the open days (today, and
yesterday for one that commits just after midnight) grow in normal operation. Whatever writes
an older day's counts (a bulk load, a flag taking a completed response out) bumps the rollup
revision in the same transaction (`note_older_days`), so a reader may remember older days' sums
under that revision and read only the open days afresh (admin.tallies)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import reporting_day, utcnow
from core.models import DailyRollup, Response, RollupRevision

RESPONSES_METRIC = "responses"
KEY = ("day", "service_id", "service_point_key", "metric", "value_key")
BATCH = 5000  # rows per executemany
OPEN_DAYS = 2  # today and yesterday: the days completions still add to
REVISION_ROW = 1


def rollup_rows(
    response: Response, agency_id: int, metrics: Iterable[tuple[str, str]]
) -> list[dict[str, Any]]:
    """The counters one completed response adds: one per (metric, value), plus `responses`."""
    now = utcnow()
    completed = response.completed_at or now
    counts = Counter(metrics)
    counts[(RESPONSES_METRIC, response.channel.value)] += 1
    return [
        {
            "day": reporting_day(completed).isoformat(),
            "agency_id": agency_id,
            "service_id": response.service_id,
            "service_point_key": response.service_point_id or 0,
            "metric": metric[:64],
            "value_key": value[:64],
            "count": count,
            "updated_at": now,
        }
        for (metric, value), count in sorted(counts.items())
    ]


def merge_rollup_rows(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows with the same key summed into one, in key order."""
    merged: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        key = tuple(row[column] for column in KEY)
        if key in merged:
            merged[key]["count"] += row["count"]
        else:
            merged[key] = dict(row)
    return [merged[key] for key in sorted(merged)]


def _upsert(insert: Any) -> Any:
    table = DailyRollup.__table__
    statement = insert(table)
    return statement.on_conflict_do_update(
        index_elements=list(KEY),
        set_={"count": table.c.count + statement.excluded.count, "updated_at": func.now()},
    )


# Built once, so compiled once: a VALUES list of as many rows as a response has metrics was
# compiled afresh on every completion.
_UPSERTS = {"postgresql": _upsert(postgresql.insert), "sqlite": _upsert(sqlite.insert)}


def first_open_day() -> date:
    """The first day whose counts completions may still change (yesterday)."""
    return reporting_day(utcnow()) - timedelta(days=OPEN_DAYS - 1)


def _bump(insert: Any) -> Any:
    table = RollupRevision.__table__
    statement = insert(table).values(id=REVISION_ROW, revision=1)
    return statement.on_conflict_do_update(
        index_elements=["id"], set_={"revision": table.c.revision + 1}
    )


_BUMPS = {"postgresql": _bump(postgresql.insert), "sqlite": _bump(sqlite.insert)}


async def note_older_days(session: AsyncSession, days: Iterable[str]) -> None:
    """Bump the rollup revision, in the caller's transaction, when any of `days` (ISO dates
    being written) is older than the open days."""
    first_open = first_open_day().isoformat()
    if any(day < first_open for day in days):
        await session.execute(_BUMPS[session.get_bind().dialect.name])


async def rollup_revision(session: AsyncSession) -> int:
    """How many times older days' counts were changed (0: never)."""
    found = await session.scalar(
        select(RollupRevision.revision).where(RollupRevision.id == REVISION_ROW)
    )
    return int(found or 0)


async def add_rollup_rows(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Add the rows' counts to the stored counters (insert or increment), many rows at once:
    one statement executed for every row (executemany)."""
    statement = _UPSERTS[session.get_bind().dialect.name]
    await note_older_days(session, (row["day"] for row in rows))
    for start in range(0, len(rows), BATCH):
        await session.execute(statement, list(rows[start : start + BATCH]))


async def add_completed_response(
    session: AsyncSession, response: Response, agency_id: int, metrics: Iterable[tuple[str, str]]
) -> None:
    """Count one completed response and its (metric, value) pairs into its day's rollup rows."""
    await add_rollup_rows(session, rollup_rows(response, agency_id, metrics))
