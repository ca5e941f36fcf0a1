"""Retention of the link between a response and the delivered service it answers: kept while
the invitation may still be used (and a week after), then cut by the worker, so that the
delivering system's `external_id` no longer leads to anyone's answers."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.opening import SurveyDesk
from core.clock import utcnow
from core.identity import token_hash
from core.models import Channel, Invitation, Response, ResponseStatus, ServiceEvent
from core.retention import unlink_expired_events
from core.unit_of_work import UnitOfWork
from tests.conftest import SURVEYS

DESK = SurveyDesk(SURVEYS, "post_service")


async def test_responses_are_unlinked_from_events_a_week_after_the_invitation_expires(
    session_factory: async_sessionmaker[AsyncSession], make_invitation
) -> None:
    tokens = {name: await make_invitation() for name in ("old", "fresh", "unfinished")}
    async with session_factory() as session:
        store = UnitOfWork(session)
        ids = {}
        for name, token in tokens.items():
            respondent = await store.responses.respondent(f"citizen-{name}")
            opened = await DESK.open_invitation(store, respondent, token, Channel.WEB, "ru")
            assert isinstance(opened, Response)
            ids[name] = opened.id
        await session.execute(
            update(Response)
            .where(Response.id.in_([ids["old"], ids["fresh"]]))
            .values(status=ResponseStatus.COMPLETED, completed_at=utcnow())
        )
        # The old one's and the unfinished one's invitations expired eight days ago.
        for name in ("old", "unfinished"):
            await session.execute(
                update(Invitation)
                .where(Invitation.token_hash == token_hash(tokens[name]))
                .values(expires_at=utcnow() - timedelta(days=8))
            )
        await session.commit()

        assert await unlink_expired_events(session, keep_days=7) == 1
        await session.commit()

        rows = {
            r.id: r
            for r in await session.scalars(
                select(Response).execution_options(populate_existing=True)
            )
        }
        assert rows[ids["old"]].invitation_id is None
        assert rows[ids["old"]].service_event_id is None
        # Its answers stay countable: service, office and day are kept.
        assert rows[ids["old"]].service_id is not None
        assert rows[ids["fresh"]].service_event_id is not None  # still in use
        assert rows[ids["unfinished"]].service_event_id is not None  # still open
        # The event stays, so a repeat of it is still recognised; it leads to no response.
        events = list(await session.scalars(select(ServiceEvent)))
        assert len(events) == 3
        assert await unlink_expired_events(session, keep_days=7) == 0  # nothing left to do
        await session.commit()
