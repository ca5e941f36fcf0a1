"""Daily rollups: a completed response adds its metric values to per-day counters, in the same
transaction that completes it, so dashboards and scoring never scan raw responses.

`rollup_rows` is the one definition of what a response adds; `add_rollup_rows` adds any number
of such rows in bulk (the demo loader sums many responses' rows first, with `merge_rollup_rows`,
and gets the same counters as completing them one by one), and is the only writer of counters:
the anti-gaming flags take a response out through it too.

Each write goes to the daily counters and to the monthly ones (`monthly_rollup`, the same key
with the month instead of the day), in the same transaction, so the monthly counters always
equal the daily ones summed by month (`MONTHLY_FROM_DAILY` recomputes them). Scoring a year
then sums a few thousand monthly rows instead of millions of daily ones.

A completion counts on the reporting day it completes, so only the open days (today, and
yesterday for one that commits just after midnight) grow in normal operation. Whatever writes
an older day's counts (a bulk load, a flag taking a completed response out) bumps the rollup
revision in the same transaction (`note_older_days`), so a reader may remember older days' sums
under that revision and read only the open days afresh (admin.tallies)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import reporting_day, utcnow
from core.models import Response, RollupRevision

RESPONSES_METRIC = "responses"
# What the figures read of the counters, the admin's and the public pages' alike: the
# satisfaction rating and the answers that count as satisfied, and the defects citizens report,
# each (name, the metric of its question, the answer that reports it).
SATISFACTION_METRIC = "satisfaction"
SATISFIED_VALUES = ("4", "5")
DEFECTS = (
    ("deadline_missed", "deadline_met", "no"),
    ("unjustified_refusal", "unjustified_refusal", "yes"),
    ("extra_documents", "extra_documents_demanded", "yes"),
    ("package_not_accepted", "full_package_once", "no"),
)
FIGURE_METRICS = (
    SATISFACTION_METRIC,
    RESPONSES_METRIC,
    *(metric for _name, metric, _bad in DEFECTS),
)
KEY = ("day", "service_id", "service_point_key", "metric", "value_key")
MONTHLY_KEY = ("month", "service_id", "service_point_key", "metric", "value_key")
BATCH = 5000  # rows per executemany
OPEN_DAYS = 2  # today and yesterday: the days completions still add to
REVISION_ROW = 1


def rollup_rows(
    response: Response, agency_id: int, metrics: Iterable[tuple[str, str]]
) -> list[dict[str, Any]]:
    """The counters one completed response adds: one per (metric, value), plus `responses`."""
    counts = Counter(metrics)
    counts[(RESPONSES_METRIC, response.channel.value)] += 1
    return counter_rows(
        response.completed_at or utcnow(),
        agency_id,
        response.service_id,
        response.service_point_id or 0,
        counts,
    )


def counter_rows(
    completed_at: datetime,
    agency_id: int,
    service_id: int,
    service_point_key: int,
    counts: Counter[tuple[str, str]],
) -> list[dict[str, Any]]:
    """Rollup rows adding `counts` (negative ones take out) to the counters of the reporting
    day of `completed_at`, in key order; zero counts are left out."""
    day = reporting_day(completed_at).isoformat()
    return [
        {
            "day": day,
            "agency_id": agency_id,
            "service_id": service_id,
            "service_point_key": service_point_key,
            "metric": metric[:64],
            "value_key": value[:64],
            "count": count,
        }
        for (metric, value), count in sorted(counts.items())
        if count
    ]


def merge_rollup_rows(
    rows: Iterable[dict[str, Any]], key: Sequence[str] = KEY
) -> list[dict[str, Any]]:
    """Rows with the same key summed into one, in key order."""
    merged: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        values = tuple(row[column] for column in key)
        if values in merged:
            merged[values]["count"] += row["count"]
        else:
            merged[values] = dict(row)
    return [merged[values] for values in sorted(merged)]


def monthly_rows(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Daily rows as the monthly rows they add to (day "YYYY-MM-DD" → month "YYYY-MM"), summed
    per monthly key and in key order (so concurrent writers lock rows in the same order)."""
    months = (
        {
            **{column: value for column, value in row.items() if column != "day"},
            "month": row["day"][:7],
        }
        for row in rows
    )
    return merge_rollup_rows(months, MONTHLY_KEY)


# Written as text so their compiled form is cached: SQLAlchemy compiles a dialect's
# on-conflict insert anew on every execution (it has no cache key), and these run at every
# completion. The same SQL runs on SQLite and PostgreSQL; a row's time is the database's, on
# insert as on increment.
_UPSERT_DAILY = text(
    "INSERT INTO daily_rollup "
    "(day, service_id, service_point_key, metric, value_key, agency_id, count, updated_at) "
    "VALUES (:day, :service_id, :service_point_key, :metric, :value_key, :agency_id, :count, "
    "CURRENT_TIMESTAMP) ON CONFLICT (day, service_id, service_point_key, metric, value_key) "
    "DO UPDATE SET count = daily_rollup.count + excluded.count, updated_at = CURRENT_TIMESTAMP"
)
_UPSERT_MONTHLY = text(
    "INSERT INTO monthly_rollup "
    "(month, service_id, service_point_key, metric, value_key, agency_id, count, updated_at) "
    "VALUES (:month, :service_id, :service_point_key, :metric, :value_key, :agency_id, :count, "
    "CURRENT_TIMESTAMP) ON CONFLICT (month, service_id, service_point_key, metric, value_key) "
    "DO UPDATE SET count = monthly_rollup.count + excluded.count, updated_at = CURRENT_TIMESTAMP"
)

# The monthly counters recomputed from the daily ones (the migration that added them fills them
# so; tests compare the maintained counters with it). Plain SQL, the same on both databases.
MONTHLY_FROM_DAILY = (
    "SELECT substr(day, 1, 7) AS month, agency_id, service_id, service_point_key, metric, "
    "value_key, sum(count) AS count FROM daily_rollup "
    "GROUP BY substr(day, 1, 7), agency_id, service_id, service_point_key, metric, value_key"
)


def first_open_day() -> date:
    """The first day whose counts completions may still change (yesterday)."""
    return reporting_day(utcnow()) - timedelta(days=OPEN_DAYS - 1)


_BUMP = text(
    "INSERT INTO rollup_revision (id, revision) VALUES (:id, 1) "
    "ON CONFLICT (id) DO UPDATE SET revision = rollup_revision.revision + 1"
)


async def note_older_days(session: AsyncSession, days: Iterable[str]) -> None:
    """Bump the rollup revision, in the caller's transaction, when any of `days` (ISO dates
    being written) is older than the open days."""
    first_open = first_open_day().isoformat()
    if any(day < first_open for day in days):
        await session.execute(_BUMP, {"id": REVISION_ROW})


async def rollup_revision(session: AsyncSession) -> int:
    """How many times older days' counts were changed (0: never)."""
    found = await session.scalar(
        select(RollupRevision.revision).where(RollupRevision.id == REVISION_ROW)
    )
    return int(found or 0)


async def add_rollup_rows(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Add the rows' counts (negative ones take counts out) to the stored daily and monthly
    counters (insert or increment), many rows at once: one statement executed for every row
    (executemany), daily first, then monthly, each in key order. A row of a day before the
    open days bumps the rollup revision first (`note_older_days`)."""
    await note_older_days(session, (row["day"] for row in rows))
    for statement, batch in ((_UPSERT_DAILY, list(rows)), (_UPSERT_MONTHLY, monthly_rows(rows))):
        for start in range(0, len(batch), BATCH):
            await session.execute(statement, batch[start : start + BATCH])


async def add_completed_response(
    session: AsyncSession, response: Response, agency_id: int, metrics: Iterable[tuple[str, str]]
) -> None:
    """Count one completed response and its (metric, value) pairs into its day's rollup rows."""
    await add_rollup_rows(session, rollup_rows(response, agency_id, metrics))
