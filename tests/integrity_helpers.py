"""Completing surveys the way the channels do (the real store, the real engine), for the tests
of the ledger and the anti-gaming rules, and reading what the rollups and flags say."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.engine.conversation import Conversation
from bot.engine.flow import Ask, Completed
from bot.opening import SurveyDesk, UnitAnswers
from core import invitations
from core.clock import utcnow
from core.identity import respondent_key
from core.integrity import ledger
from core.integrity.flags import Rules
from core.models import (
    Channel,
    DailyRollup,
    DeliveryChannel,
    MonthlyRollup,
    Response,
    ResponseFlag,
    ServiceEvent,
    ServicePoint,
)
from core.rollups import MONTHLY_FROM_DAILY
from core.unit_of_work import UnitOfWork
from tests.conftest import LENIENT, SURVEYS, Seed

SECRET = b"integrity-test-secret"
DESK = SurveyDesk(SURVEYS, "post_service")


async def new_invitation(session: AsyncSession, seed: Seed) -> str:
    event = ServiceEvent(
        external_id=f"ev-{uuid.uuid4().hex}",
        service_id=seed.service.id,
        service_point_id=seed.office.id,
        delivery_channel=DeliveryChannel.SERVICE_CENTRE,
        delivered_at=utcnow(),
    )
    session.add(event)
    await session.flush()
    issued = await invitations.issue(session, event, "post_service", 72)
    await session.commit()
    return issued.token


async def open_response(
    sessions: async_sessionmaker[AsyncSession],
    seed: Seed,
    *,
    user: int,
    walk_in: bool = False,
    channel: Channel = Channel.TELEGRAM,
    minutes_taken: float = 5,
    office: ServicePoint | None = None,
) -> int:
    """Open a response (from an invitation, or a walk-in at the seed's office), started
    `minutes_taken` ago so the fast-answer rule sees a person's pace."""
    async with sessions() as session:
        store = UnitOfWork(session)
        respondent = await store.responses.respondent(
            respondent_key(SECRET, channel.value, user), "ru"
        )
        if walk_in:
            response = await store.responses.start_walk_in(
                seed.service, office or seed.office, respondent, channel, "ru", seed.survey.version
            )
        else:
            token = await new_invitation(session, seed)
            opened = await DESK.open_invitation(store, respondent, token, channel, "ru")
            assert isinstance(opened, Response), opened
            response = opened
        await session.execute(
            update(Response)
            .where(Response.id == response.id)
            .values(started_at=utcnow() - timedelta(minutes=minutes_taken))
        )
        await session.commit()
        return response.id


async def answer_all(
    sessions: async_sessionmaker[AsyncSession],
    seed: Seed,
    response_id: int,
    overall: int = 5,
    until: str | None = None,
) -> None:
    """Answer every question (overall as given, other ratings 4, yes/no 'no'), or those
    before question `until`."""
    async with sessions() as session:
        store = UnitOfWork(session)
        conversation = await Conversation.resume(seed.survey, UnitAnswers(store), response_id)
        script = {"overall": str(overall), "reasons": ["rudeness"], "received_via": "egov"}
        step = conversation.current()
        while isinstance(step, Ask):
            if step.question.name == until:
                return
            default = "4" if step.question.type.value == "rating" else "no"
            if step.question.type.value == "text":
                default = "ok"
            step = await conversation.answer(
                step.question.name, script.get(step.question.name, default)
            )
        assert isinstance(step, Completed)


async def complete(
    sessions: async_sessionmaker[AsyncSession],
    seed: Seed,
    *,
    user: int,
    overall: int = 5,
    walk_in: bool = False,
    channel: Channel = Channel.TELEGRAM,
    minutes_taken: float = 5,
    rules: Rules = LENIENT,
) -> int:
    """A response completed and then counted by the chain keeper, judged by `rules`."""
    response_id = await open_response(
        sessions, seed, user=user, walk_in=walk_in, channel=channel, minutes_taken=minutes_taken
    )
    await answer_all(sessions, seed, response_id, overall)
    await ledger.seal_all(sessions, rules)  # as the chain keeper does within a second
    return response_id


async def rollup(sessions: async_sessionmaker[AsyncSession]) -> dict[tuple[str, str], int]:
    """Every rollup counter, summed over days, services and offices; zeros left out. Checks on
    the way that the monthly counters still equal the daily ones summed by month."""
    totals: dict[tuple[str, str], int] = {}
    async with sessions() as session:
        for row in await session.scalars(select(DailyRollup)):
            key = (row.metric, row.value_key)
            totals[key] = totals.get(key, 0) + row.count
        recomputed = {
            tuple(row[:6]): row[6] for row in await session.execute(text(MONTHLY_FROM_DAILY))
        }
        monthly = {
            (
                row.month,
                row.agency_id,
                row.service_id,
                row.service_point_key,
                row.metric,
                row.value_key,
            ): row.count
            for row in await session.scalars(select(MonthlyRollup))
        }
    assert monthly == recomputed
    return {key: count for key, count in totals.items() if count}


async def flags(sessions: async_sessionmaker[AsyncSession]) -> dict[int, set[str]]:
    found: dict[int, set[str]] = {}
    async with sessions() as session:
        for row in await session.scalars(select(ResponseFlag)):
            found.setdefault(row.response_id, set()).add(row.reason)
    return found
