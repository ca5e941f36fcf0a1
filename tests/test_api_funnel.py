"""The funnel end to end: a delivery system reports a service, the citizen opens the link and
completes the survey, and the funnel shows each step once, on the day of the service."""

from __future__ import annotations

import aiohttp
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import funnel
from core.clock import utcnow
from core.integrity import ledger
from tests.api_fixtures import event, running_api
from tests.conftest import LENIENT, Seed
from tests.test_web_channel import HAPPY_RU, answer_in_order
from tests.web_fixtures import Citizen


async def test_served_invited_started_completed_each_counted_once(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed
) -> None:
    async with running_api(session_factory) as site:
        queue = await site.integration(["ALA"])
        reply = await queue.post(event("funnel-1", delivered_at="2026-11-30T23:30:00+05:00"))
        token = reply.body["events"][0]["survey_url"].rsplit("/", 1)[-1]
        async with aiohttp.ClientSession(
            base_url=site.server.make_url("/"),
            cookie_jar=aiohttp.CookieJar(unsafe=True),
            headers={"Accept-Language": "ru-RU,ru"},
        ) as browser:
            citizen = Citizen(browser)
            await citizen.start(token)
            await answer_in_order(citizen, HAPPY_RU[:7])
            await citizen.tap("В ЦОНе")
            await answer_in_order(citizen, HAPPY_RU[8:])
            assert citizen.current.heading == seed.survey.thanks["ru"]
            # Opening the finished link again starts nothing new.
            await citizen.open(f"/s/{token}")

        # The chain keeper counts it within a second.
        await ledger.seal_all(session_factory, LENIENT)
        [row] = await site.funnel()

    assert (row.served, row.invited, row.delivered, row.started, row.completed) == (1, 1, 0, 1, 1)
    assert row.day == "2026-11-30"  # the service's day in Kazakhstan, not today's
    assert (row.agency_id, row.service_id, row.service_point_key) == (
        seed.agency.id,
        seed.service.id,
        seed.office.id,
    )


async def test_the_dispatcher_counts_delivered_for_an_invitations_event(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed
) -> None:
    async with running_api(session_factory) as site:
        queue = await site.integration(["ALA"])
        await queue.post(event("funnel-2"))
        async with session_factory() as session:
            from sqlalchemy import select

            from core.models import ServiceEvent

            event_id = await session.scalar(select(ServiceEvent.id))
            await funnel.count_event(session, "delivered", event_id)
            await funnel.count(
                session,
                funnel.FunnelStep.DELIVERED,
                agency_id=seed.agency.id,
                service_id=seed.service.id,
                service_point_id=seed.office.id,
                delivered_at=utcnow().replace(year=2026, month=11, day=30, hour=6),
            )
            await session.commit()
        [row] = await site.funnel()
    assert (row.served, row.invited, row.delivered) == (1, 1, 2)


async def test_walk_in_responses_are_not_in_the_funnel(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed
) -> None:
    async with session_factory() as session:
        await funnel.count_event(session, funnel.FunnelStep.STARTED, None)
        await session.commit()
    async with running_api(session_factory) as site:
        assert await site.funnel() == []
