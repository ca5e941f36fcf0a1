"""The invitation funnel: served -> invited -> delivered -> started -> completed, counted per
agency x service x office x day, where each step happens (the integration API counts served
and invited, the dispatcher delivered, the response store started and completed).

Every step is attributed to the day the service was delivered (Kazakhstan time), not the day
the step happened, so a day's row reads as "of the services delivered that day, so many were
rated", and rates never pass 100 % because a survey was finished after midnight."""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import TextClause, bindparam, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import reporting_day, utcnow
from core.models import FunnelDaily, PublicService, ServiceEvent


class FunnelStep(enum.StrEnum):
    SERVED = "served"
    INVITED = "invited"
    DELIVERED = "delivered"
    STARTED = "started"
    COMPLETED = "completed"


STEPS = tuple(FunnelStep)


@dataclass(frozen=True, order=True)
class FunnelKey:
    """One row of the funnel: a day (ISO date, Kazakhstan time), a service, an office (0: none)."""

    day: str
    service_id: int
    service_point_key: int
    agency_id: int

    @classmethod
    def of(
        cls, delivered_at: datetime, agency_id: int, service_id: int, service_point_id: int | None
    ) -> FunnelKey:
        return cls(
            reporting_day(delivered_at).isoformat(), service_id, service_point_id or 0, agency_id
        )


async def add(session: AsyncSession, counts: Mapping[FunnelKey, Mapping[FunnelStep, int]]) -> None:
    """Add many counts in one statement (rows in key order, so concurrent batches lock the
    same rows in the same order and cannot deadlock). Does not commit."""
    if not counts:
        return
    now = utcnow()
    rows = []
    for key in sorted(counts):
        steps = counts[key]
        rows.append(
            {
                "day": key.day,
                "agency_id": key.agency_id,
                "service_id": key.service_id,
                "service_point_key": key.service_point_key,
                "updated_at": now,
                **{step.value: int(steps.get(step, 0)) for step in STEPS},
            }
        )
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(FunnelDaily).values(rows)
    touched = {step for key_steps in counts.values() for step in key_steps}
    statement = statement.on_conflict_do_update(
        index_elements=["day", "service_id", "service_point_key"],
        set_={
            **{
                step.value: getattr(FunnelDaily, step.value)
                + getattr(statement.excluded, step.value)
                for step in STEPS
                if step in touched
            },
            "updated_at": statement.excluded.updated_at,
        },
    )
    await session.execute(statement)


async def add_abandoned(session: AsyncSession, counts: Mapping[FunnelKey, int]) -> None:
    """Count responses closed as abandoned (started, never completed, the invitation expired):
    an outcome beside the steps, on the day the service was delivered. Does not commit."""
    if not counts:
        return
    now = utcnow()
    rows = [
        {
            "day": key.day,
            "agency_id": key.agency_id,
            "service_id": key.service_id,
            "service_point_key": key.service_point_key,
            "abandoned": n,
            "updated_at": now,
            **{step.value: 0 for step in STEPS},
        }
        for key, n in sorted(counts.items())
    ]
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(FunnelDaily).values(rows)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["day", "service_id", "service_point_key"],
            set_={
                "abandoned": FunnelDaily.abandoned + statement.excluded.abandoned,
                "updated_at": statement.excluded.updated_at,
            },
        )
    )


_UPSERT_ONE = (
    "INSERT INTO funnel_daily (day, agency_id, service_id, service_point_key, served, invited, "
    "delivered, started, completed, updated_at) VALUES (:day, :agency_id, :service_id, "
    ":service_point_key, :served, :invited, :delivered, :started, :completed, :updated_at) "
    "ON CONFLICT (day, service_id, service_point_key) DO UPDATE SET "
)


def _one_step_upsert(step: FunnelStep) -> TextClause:
    # Written as text so its compiled form is cached (the dialects' on-conflict inserts are
    # compiled anew on every call): this runs when a survey starts and completes. The only
    # name put into it is one of our enum's, never input.
    column = step.value
    increment = f"{column} = funnel_daily.{column} + excluded.{column}"
    return text(_UPSERT_ONE + increment + ", updated_at = excluded.updated_at").bindparams(
        bindparam("updated_at", type_=FunnelDaily.__table__.c.updated_at.type)
    )


_ONE_STEP = {step: _one_step_upsert(step) for step in STEPS}


async def count(
    session: AsyncSession,
    step: FunnelStep | str,
    *,
    agency_id: int,
    service_id: int,
    service_point_id: int | None,
    delivered_at: datetime,
    n: int = 1,
) -> None:
    """Count `n` of one step for one service delivered at `delivered_at`. Does not commit."""
    key = FunnelKey.of(delivered_at, agency_id, service_id, service_point_id)
    await count_key(session, step, key, n)


async def count_key(
    session: AsyncSession, step: FunnelStep | str, key: FunnelKey, n: int = 1
) -> None:
    """Count `n` of one step in the funnel's row `key`. Does not commit."""
    step = FunnelStep(step)
    await session.execute(
        _ONE_STEP[step],
        {
            "day": key.day,
            "agency_id": key.agency_id,
            "service_id": key.service_id,
            "service_point_key": key.service_point_key,
            "updated_at": utcnow(),
            **{other.value: (n if other is step else 0) for other in STEPS},
        },
    )


async def count_event(
    session: AsyncSession, step: FunnelStep | str, service_event_id: int | None, n: int = 1
) -> None:
    """Count one step of the service event with this id (the dispatcher's and the response
    store's call: they know the event, not its agency and day). None (a walk-in) counts
    nothing: walk-ins were never invited. Does not commit."""
    if service_event_id is None:
        return
    row = (
        await session.execute(
            select(
                ServiceEvent.delivered_at,
                ServiceEvent.service_id,
                ServiceEvent.service_point_id,
                PublicService.agency_id,
            )
            .join(PublicService, PublicService.id == ServiceEvent.service_id)
            .where(ServiceEvent.id == service_event_id)
        )
    ).one_or_none()
    if row is None:
        return
    delivered_at, service_id, service_point_id, agency_id = row
    await count(
        session,
        step,
        agency_id=agency_id,
        service_id=service_id,
        service_point_id=service_point_id,
        delivered_at=delivered_at,
        n=n,
    )


def tally(
    events: Iterable[tuple[FunnelKey, FunnelStep]],
) -> dict[FunnelKey, Counter[FunnelStep]]:
    """Group (key, step) pairs into counts for `add`."""
    counts: dict[FunnelKey, Counter[FunnelStep]] = {}
    for key, step in events:
        counts.setdefault(key, Counter())[step] += 1
    return counts
