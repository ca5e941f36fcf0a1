"""An invitation link is the citizen's key until it expires: a survey left unfinished (stopped,
or just left) continues from the link; once the invitation has expired, the worker closes it
as abandoned, counts it in the funnel once, and the link says it has expired."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.opening import Pressed, Refused, SurveyDesk
from core.clock import utcnow
from core.identity import respondent_key
from core.models import Channel, FunnelDaily, Invitation, Response, ResponseStatus
from core.settings import Settings
from core.unit_of_work import UnitsOfWork
from qanagat.jobs import close_abandoned_responses, worker_jobs
from tests.conftest import SURVEYS

SECRET = b"test-secret"
OWNER = respondent_key(SECRET, "telegram", 1)


async def start(units: UnitsOfWork, desk: SurveyDesk, token: str, key: str = OWNER) -> Response:
    async with units() as uow:
        respondent = await uow.responses.respondent(key, "ru")
        opened = await desk.open_invitation(uow, respondent, token, Channel.TELEGRAM, "ru")
        assert isinstance(opened, Response), opened
        return opened


async def answer_first(units: UnitsOfWork, desk: SurveyDesk, response_id: int) -> None:
    async with units() as uow:
        pressed = await desk.press(uow, OWNER, response_id, 0)
        assert isinstance(pressed, Pressed)
        await desk.answer(uow, pressed, "4")


async def stop(units: UnitsOfWork) -> None:
    async with units() as uow:
        respondent = await uow.responses.respondent(OWNER)
        await uow.responses.forget(respondent)
        await uow.commit()


async def expire_invitations(session_factory: async_sessionmaker[AsyncSession]) -> None:
    async with session_factory() as session:
        for invitation in await session.scalars(select(Invitation)):
            invitation.expires_at = utcnow() - timedelta(minutes=1)
        await session.commit()


async def funnel_abandoned(session_factory: async_sessionmaker[AsyncSession]) -> int:
    async with session_factory() as session:
        return int(await session.scalar(select(func.coalesce(func.sum(FunnelDaily.abandoned), 0))))


async def status_of(session_factory: async_sessionmaker[AsyncSession], response_id: int) -> Any:
    async with session_factory() as session:
        return await session.scalar(select(Response.status).where(Response.id == response_id))


async def test_after_stop_the_link_continues_the_same_response_where_it_stopped(
    session_factory: async_sessionmaker[AsyncSession], make_invitation: Any
) -> None:
    units, desk = UnitsOfWork(session_factory), SurveyDesk(SURVEYS, "post_service")
    token = await make_invitation()
    first = await start(units, desk, token)
    await answer_first(units, desk, first.id)
    await stop(units)  # /stop: the pseudonym is gone, the survey stopped
    assert await status_of(session_factory, first.id) is ResponseStatus.STOPPED

    again = await start(units, desk, token)  # the same person, a new pseudonym
    assert again.id == first.id
    assert await status_of(session_factory, first.id) is ResponseStatus.IN_PROGRESS
    async with units() as uow:
        conversation = await desk.conversation(uow, again)
        assert set(conversation.answers) == {"overall"}  # where it stopped


async def test_the_worker_closes_expired_unfinished_responses_as_abandoned_once(
    session_factory: async_sessionmaker[AsyncSession], make_invitation: Any
) -> None:
    units, desk = UnitsOfWork(session_factory), SurveyDesk(SURVEYS, "post_service")
    left = await start(units, desk, await make_invitation(), OWNER)
    await answer_first(units, desk, left.id)
    stopped = await start(units, desk, await make_invitation(), respondent_key(SECRET, "t", 2))
    async with units() as uow:
        respondent = await uow.responses.respondent(respondent_key(SECRET, "t", 2))
        await uow.responses.forget(respondent)
        await uow.commit()
    fresh_token = await make_invitation()
    async with session_factory() as session:  # only the first two expire
        for invitation in await session.scalars(select(Invitation)):
            if invitation.id != (await session.scalar(select(func.max(Invitation.id)))):
                invitation.expires_at = utcnow() - timedelta(minutes=1)
        await session.commit()
    still_open = await start(units, desk, fresh_token, respondent_key(SECRET, "t", 3))

    assert await close_abandoned_responses(units, batch=1) == 2  # in batches, to the end
    assert await status_of(session_factory, left.id) is ResponseStatus.ABANDONED
    assert await status_of(session_factory, stopped.id) is ResponseStatus.ABANDONED
    assert await status_of(session_factory, still_open.id) is ResponseStatus.IN_PROGRESS
    assert await funnel_abandoned(session_factory) == 2
    assert await close_abandoned_responses(units) == 0  # counted once
    assert await funnel_abandoned(session_factory) == 2


async def test_an_expired_link_no_longer_continues_its_survey(
    session_factory: async_sessionmaker[AsyncSession], make_invitation: Any
) -> None:
    units, desk = UnitsOfWork(session_factory), SurveyDesk(SURVEYS, "post_service")
    token = await make_invitation()
    first = await start(units, desk, token)
    await answer_first(units, desk, first.id)
    await expire_invitations(session_factory)
    async with units() as uow:
        respondent = await uow.responses.respondent(respondent_key(SECRET, "telegram", 9))
        refused = await desk.open_invitation(uow, respondent, token, Channel.WEB, "ru")
    assert refused == Refused("invitation_expired")
    await close_abandoned_responses(units)
    async with units() as uow:
        respondent = await uow.responses.respondent(OWNER)
        refused = await desk.open_invitation(uow, respondent, token, Channel.TELEGRAM, "ru")
    assert refused == Refused("invitation_expired")


def test_the_worker_runs_the_abandoned_responses_job() -> None:
    settings = Settings(database_url="sqlite+aiosqlite://", redis_url=None)
    assert "abandoned_responses" in {job.name for job in worker_jobs(settings, None)}  # type: ignore[arg-type]
