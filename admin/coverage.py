"""What the figures cover: the latest day any data arrived (so a page opens on a period that
has some), and the completed responses left out of them because a rule or an analyst flagged
them (so a reader is told how many, and why, instead of wondering why the funnel says more)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from admin.scope import Reader, scope
from core.language import TIME_ZONE
from core.models import (
    DailyRollup,
    FunnelDaily,
    PublicService,
    Response,
    ResponseFlag,
    ResponseStatus,
)
from core.rollups import RESPONSES_METRIC

ALMATY = ZoneInfo(TIME_ZONE)  # a reporting day starts at midnight in Almaty


async def latest_day(db: AsyncSession, reader: Reader) -> date | None:
    """The latest reporting day with a counted response or a served service the reader may see."""
    days = []
    for column, agency, extra in (
        (DailyRollup.day, DailyRollup.agency_id, DailyRollup.metric == RESPONSES_METRIC),
        (FunnelDaily.day, FunnelDaily.agency_id, None),
    ):
        statement = select(func.max(column))
        if extra is not None:
            statement = statement.where(extra)
        found = await db.scalar(scope(statement, reader, agency))
        if found:
            days.append(date.fromisoformat(str(found)))
    return max(days, default=None)


@dataclass(frozen=True)
class Excluded:
    """Completed responses not counted in the figures: how many, and how many per reason (one
    response may have several reasons)."""

    total: int
    reasons: list[tuple[str, int]]


async def excluded(db: AsyncSession, reader: Reader, since: date | None) -> Excluded:
    """The flagged completed responses of the period (completed on or after `since`)."""
    base = (
        select(Response.id)
        .join(PublicService, PublicService.id == Response.service_id)
        .join(ResponseFlag, ResponseFlag.response_id == Response.id)
        .where(Response.status == ResponseStatus.COMPLETED)
    )
    if since is not None:
        base = base.where(Response.completed_at >= datetime.combine(since, time.min, tzinfo=ALMATY))
    scoped = scope(base, reader, PublicService.agency_id).subquery()
    total = await db.scalar(select(func.count(distinct(scoped.c.id))))
    by_reason = await db.execute(
        select(ResponseFlag.reason, func.count(distinct(ResponseFlag.response_id)))
        .where(ResponseFlag.response_id.in_(select(scoped.c.id)))
        .group_by(ResponseFlag.reason)
        .order_by(func.count(distinct(ResponseFlag.response_id)).desc(), ResponseFlag.reason)
    )
    return Excluded(int(total or 0), [(str(r), int(n)) for r, n in by_reason.tuples()])
