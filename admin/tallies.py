"""One agency's rollup counts of a period, summed per (metric, value, service, office, month):
what the agency, service, office pages and the report card compute their figures from, in one
query instead of one per table.

Older days' sums are remembered, the open days (today and yesterday) read every time: completions
add only to the open days, and whatever changes an older day bumps the rollup revision in the
same transaction (core.rollups), so a remembered sum, keyed by the revision, is what a fresh read
would give. The key also holds whose view it is (`scope`): an agency user's sums are never
another reader's, and never another agency's."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

from cachetools import LRUCache
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from admin.scope import Reader, scope
from core.models import AdminRole, DailyRollup
from core.rollups import first_open_day, rollup_revision


@dataclass(frozen=True)
class Tally:
    """Completed answers `value` to `metric` at one service and office (0: none) in `month`."""

    metric: str
    value: str
    service_id: int
    office_key: int
    month: str  # YYYY-MM
    count: int


Key = tuple[int, int | None, str, str, tuple[str, ...], int]


class TallyMemory:
    """Remembered sums of older days, bounded, least recently used forgotten; one per admin
    app (so one per database)."""

    def __init__(self, size: int = 512) -> None:
        self.older: LRUCache[Key, tuple[Tally, ...]] = LRUCache(maxsize=size)


def _viewer_scope(reader: Reader) -> int | None:
    """Whose view the sums are: None for readers of every agency, else the user's agency
    (-1 for an agency user without one, who sees nothing)."""
    if reader.role is AdminRole.AGENCY:
        return reader.agency_id if reader.agency_id is not None else -1
    return None


async def _read(
    db: AsyncSession,
    reader: Reader,
    agency_id: int,
    metrics: Collection[str],
    first: date | None,
    end: date | None,
) -> tuple[Tally, ...]:
    month = func.substr(DailyRollup.day, 1, 7)
    statement = (
        select(
            DailyRollup.metric,
            DailyRollup.value_key,
            DailyRollup.service_id,
            DailyRollup.service_point_key,
            month,
            func.sum(DailyRollup.count),
        )
        .where(DailyRollup.agency_id == agency_id, DailyRollup.metric.in_(sorted(metrics)))
        .group_by(
            DailyRollup.metric,
            DailyRollup.value_key,
            DailyRollup.service_id,
            DailyRollup.service_point_key,
            month,
        )
    )
    if first is not None:
        statement = statement.where(DailyRollup.day >= first.isoformat())
    if end is not None:
        statement = statement.where(DailyRollup.day < end.isoformat())
    rows = await db.execute(scope(statement, reader, DailyRollup.agency_id))
    return tuple(
        Tally(str(m), str(v), int(s), int(o), str(mo), int(c))
        for m, v, s, o, mo, c in rows.tuples()
    )


async def agency_tallies(
    db: AsyncSession,
    reader: Reader,
    agency_id: int,
    metrics: Collection[str],
    since: date | None,
    until: date | None = None,
    memory: TallyMemory | None = None,
) -> list[Tally]:
    """The agency's counts of `metrics` from `since` (None: all) up to, not including, `until`
    (None: no end), as `reader` may see them. Older days come from `memory` when it has them
    for the current rollup revision; a month split by the open days appears twice (sum them)."""
    open_from = first_open_day()
    older_end = open_from if until is None or until > open_from else until
    older: tuple[Tally, ...] = ()
    if since is None or since < older_end:
        key: Key = (
            agency_id,
            _viewer_scope(reader),
            since.isoformat() if since else "",
            older_end.isoformat(),
            tuple(sorted(metrics)),
            await rollup_revision(db) if memory is not None else 0,
        )
        remembered = memory.older.get(key) if memory is not None else None
        if remembered is None:
            remembered = await _read(db, reader, agency_id, metrics, since, older_end)
            if memory is not None:
                memory.older[key] = remembered
        older = remembered
    recent: tuple[Tally, ...] = ()
    if until is None or until > open_from:
        first = open_from if since is None or since < open_from else since
        recent = await _read(db, reader, agency_id, metrics, first, until)
    return [*older, *recent]
