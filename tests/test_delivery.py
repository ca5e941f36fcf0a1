"""Invitation delivery: the outbox and its dispatcher against the fake Bot API (enforcing
Telegram's flood limit with 429, failing at random with 5xx, blocked chats), also across a
dispatcher cancelled mid-batch and restarted."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from aiogram import Bot
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.delivery.pacing import Pacer
from core.clock import utcnow
from core.db import create_engine, create_session_factory
from core.models import Base, ChatAddress, DeliveryStatus, Invitation
from core.outbox import (
    InvitationToSend,
    claim_due,
    configure_outbox,
    enqueue_invitation,
    enqueue_invitations,
    new_claim,
)
from core.responses import InvitationOpening
from core.unit_of_work import UnitOfWork
from tests.conftest import Seed
from tests.delivery_fixtures import (
    SECRET,
    ShiftedClock,
    dispatcher,
    fake_bot,
    outbox_rows,
    queue_invitations,
    seed_service,
)
from tests.fake_telegram import FakeTelegram

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


@pytest.fixture
async def outbox_sessions(
    session_factory: async_sessionmaker[AsyncSession],
) -> async_sessionmaker[AsyncSession]:
    configure_outbox(session_factory, SECRET)
    return session_factory


def max_in_window(times: list[float], window: float = 1.0) -> int:
    """The most calls that arrived within any `window` seconds."""
    times = sorted(times)
    best, start = 0, 0
    for end, moment in enumerate(times):
        while moment - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


def record_send_starts(bot: Bot) -> list[float]:
    """The moments the dispatcher starts each sendMessage (on the event loop's clock)."""
    starts: list[float] = []
    send = bot.send_message

    async def timed(*args: Any, **kwargs: Any) -> Any:
        starts.append(asyncio.get_running_loop().time())
        return await send(*args, **kwargs)

    bot.send_message = timed  # type: ignore[method-assign]
    return starts


def start_payload(message_url: str) -> str:
    return parse_qs(urlparse(message_url).query)["start"][0]


async def test_every_invitation_arrives_once_within_the_rate_despite_429_and_5xx(
    fake: FakeTelegram, outbox_sessions: async_sessionmaker[AsyncSession], seed: Seed
) -> None:
    fake.rate_limit_per_s = 30
    fake.fail_randomly(0.15, seed=7)
    queued = await queue_invitations(outbox_sessions, seed.service.id, seed.office.id, 60)
    bot = fake_bot(fake.url)
    starts = record_send_starts(bot)
    try:
        outcome = await dispatcher(bot, outbox_sessions, rate_per_s=30).deliver_due()
        # Rows retried after a 5xx come due a little later: the dispatcher's loop picks them up.
        courier = dispatcher(bot, outbox_sessions, rate_per_s=30)
        for _ in range(40):
            if all(r.status == DeliveryStatus.SENT for r in await outbox_rows(outbox_sessions)):
                break
            await asyncio.sleep(0.1)
            outcome += await courier.deliver_due()
    finally:
        await bot.session.close()

    per_chat = fake.sent_per_chat()
    assert {q.chat_id: per_chat[q.chat_id] for q in queued} == {q.chat_id: 1 for q in queued}
    rows = await outbox_rows(outbox_sessions)
    assert [r.status for r in rows] == [DeliveryStatus.SENT] * 60
    assert all(r.encrypted_token is None and r.telegram_message_id for r in rows)
    assert outcome["retried"] > 0  # the 5xx were met and retried
    # The dispatcher keeps to 30 a second itself: Telegram's 429 is not its pacing. (Arrivals
    # at the fake can bunch when this one event loop is starved of CPU; starts cannot.)
    assert max_in_window(starts) <= 30
    refused = [c for c in fake.calls_to("sendMessage") if c.error_code == 429]
    assert len(refused) <= 0.05 * len(starts)


async def test_retry_after_holds_every_send_back(
    fake: FakeTelegram, outbox_sessions: async_sessionmaker[AsyncSession], seed: Seed
) -> None:
    fake.rate_limit_per_s = 15  # the dispatcher believes it may send 60 a second
    queued = await queue_invitations(outbox_sessions, seed.service.id, seed.office.id, 40)
    bot = fake_bot(fake.url)
    courier = dispatcher(bot, outbox_sessions, rate_per_s=60)
    try:
        runner = asyncio.create_task(courier.run_forever())
        await fake.wait_for(lambda: sum(fake.sent_per_chat().values()) == 40, timeout=20)
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
    finally:
        await bot.session.close()

    calls = fake.calls_to("sendMessage")
    refusals = [c for c in calls if c.error_code == 429]
    assert refusals, "the fake should have refused some sends"
    for refusal in refusals:
        retry_after = 1.0  # what the fake asks for at 15/s
        # Sends already in flight may still arrive; nothing new may start inside the pause.
        inside = [c for c in calls if refusal.at + 0.15 < c.at < refusal.at + retry_after - 0.05]
        assert not inside, f"{len(inside)} sends during a retry_after pause"
    assert fake.sent_per_chat() == Counter({q.chat_id: 1 for q in queued})
    rows = await outbox_rows(outbox_sessions)
    assert all(r.attempts == 0 for r in rows)  # waiting out a 429 is not a failed attempt


async def test_a_chat_that_blocked_the_bot_is_marked_and_its_address_dropped(
    fake: FakeTelegram, outbox_sessions: async_sessionmaker[AsyncSession], seed: Seed
) -> None:
    queued = await queue_invitations(outbox_sessions, seed.service.id, seed.office.id, 3)
    blocked = queued[1]
    fake.block_chat(blocked.chat_id)
    bot = fake_bot(fake.url)
    try:
        await dispatcher(bot, outbox_sessions).deliver_due()
    finally:
        await bot.session.close()

    rows = {r.invitation_id: r for r in await outbox_rows(outbox_sessions)}
    assert rows[blocked.invitation_id].status == DeliveryStatus.BLOCKED
    assert rows[blocked.invitation_id].encrypted_token is None
    assert "blocked" in (rows[blocked.invitation_id].last_error or "")
    others = [rows[q.invitation_id].status for q in queued if q is not blocked]
    assert others == [DeliveryStatus.SENT, DeliveryStatus.SENT]
    assert len([c for c in fake.calls_to("sendMessage") if c.error_code == 403]) == 1
    async with outbox_sessions() as session:
        addresses = set(await session.scalars(select(ChatAddress.respondent_id)))
    assert blocked.respondent_id not in addresses
    assert {q.respondent_id for q in queued if q is not blocked} <= addresses


async def test_one_chat_gets_at_most_one_message_per_interval(
    fake: FakeTelegram, outbox_sessions: async_sessionmaker[AsyncSession], seed: Seed
) -> None:
    queued = await queue_invitations(
        outbox_sessions, seed.service.id, seed.office.id, 3, same_chat=True
    )
    bot = fake_bot(fake.url)
    courier = dispatcher(bot, outbox_sessions, rate_per_s=100, per_chat_interval_s=0.4)
    try:
        runner = asyncio.create_task(courier.run_forever())
        await fake.wait_for(lambda: fake.sent_per_chat()[queued[0].chat_id] == 3, timeout=10)
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
    finally:
        await bot.session.close()
    times = sorted(c.at for c in fake.calls_to("sendMessage") if c.ok)
    assert len(times) == 3
    assert min(b - a for a, b in itertools.pairwise(times)) >= 0.35
    assert courier.stats["deferred_per_chat"] >= 2


async def test_the_message_speaks_the_citizens_language_and_its_button_opens_the_survey(
    fake: FakeTelegram, outbox_sessions: async_sessionmaker[AsyncSession], seed: Seed
) -> None:
    (queued,) = await queue_invitations(
        outbox_sessions, seed.service.id, seed.office.id, 1, language="ru"
    )
    bot = fake_bot(fake.url)
    try:
        await dispatcher(bot, outbox_sessions).deliver_due()
    finally:
        await bot.session.close()
    (message,) = fake.messages(queued.chat_id)
    assert message.contains("Постановка в очередь в детский сад")
    assert message.contains("ЦОН №1")
    button = message.button("Оценить услугу")
    assert button is not None
    assert button["url"].startswith("https://t.me/QanagatTestBot?start=")
    token = start_payload(button["url"])
    async with outbox_sessions() as session:
        found = await UnitOfWork(session).responses.invitation_opening(token, None)
    assert isinstance(found, InvitationOpening) and found.id == queued.invitation_id


async def test_expired_and_answered_invitations_are_given_up_not_sent(
    fake: FakeTelegram, outbox_sessions: async_sessionmaker[AsyncSession], seed: Seed
) -> None:
    expired, answered, fresh = await queue_invitations(
        outbox_sessions, seed.service.id, seed.office.id, 3
    )
    async with outbox_sessions() as session:
        invitation = await session.get(Invitation, answered.invitation_id)
        assert invitation is not None
        invitation.used_at = invitation.created_at
        await session.commit()
    clock = ShiftedClock()
    bot = fake_bot(fake.url)
    try:
        # The first invitation expires: seen from 73 h later it must not go out.
        async with outbox_sessions() as session:
            invitation = await session.get(Invitation, expired.invitation_id)
            assert invitation is not None
            invitation.expires_at = invitation.created_at + timedelta(seconds=1)
            await session.commit()
        clock.offset = timedelta(seconds=5)
        await dispatcher(bot, outbox_sessions, clock=clock).deliver_due()
    finally:
        await bot.session.close()
    rows = {r.invitation_id: r for r in await outbox_rows(outbox_sessions)}
    assert rows[expired.invitation_id].status == DeliveryStatus.FAILED
    assert "expired" in (rows[expired.invitation_id].last_error or "")
    assert rows[answered.invitation_id].status == DeliveryStatus.FAILED
    assert rows[fresh.invitation_id].status == DeliveryStatus.SENT
    assert all(r.encrypted_token is None for r in rows.values())
    assert set(fake.sent_per_chat()) == {fresh.chat_id}


async def test_a_5xx_that_never_ends_is_given_up_after_the_attempts(
    fake: FakeTelegram, outbox_sessions: async_sessionmaker[AsyncSession], seed: Seed
) -> None:
    await queue_invitations(outbox_sessions, seed.service.id, seed.office.id, 1)
    fake.fail_next("sendMessage", 502, times=100)
    clock = ShiftedClock()
    bot = fake_bot(fake.url)
    courier = dispatcher(bot, outbox_sessions, clock=clock, max_attempts=3, per_chat_interval_s=0)
    try:
        for _ in range(5):
            await courier.deliver_due()
            clock.offset += timedelta(seconds=10)  # past any backoff
    finally:
        await bot.session.close()
    (row,) = await outbox_rows(outbox_sessions)
    assert row.status == DeliveryStatus.FAILED
    assert row.attempts == 3
    assert row.encrypted_token is None
    assert "502" in (row.last_error or "") or "Bad Gateway" in (row.last_error or "")
    assert len(fake.calls_to("sendMessage")) == 3


async def test_the_token_is_never_stored_in_clear(tmp_path: Path, fake: FakeTelegram) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'clear.sqlite3'}"
    engine = create_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    sessions = create_session_factory(engine)
    configure_outbox(sessions, SECRET)

    def stored_bytes() -> bytes:
        return b"".join(p.read_bytes() for p in tmp_path.glob("clear.sqlite3*"))

    try:
        service_id, office_id = await seed_service(sessions)
        queued = await queue_invitations(sessions, service_id, office_id, 5)
        assert all(q.token.encode() not in stored_bytes() for q in queued)
        bot = fake_bot(fake.url)
        try:
            await dispatcher(bot, sessions).deliver_due()
        finally:
            await bot.session.close()
        rows = await outbox_rows(sessions)
        assert [r.status for r in rows] == [DeliveryStatus.SENT] * 5
        assert all(r.encrypted_token is None for r in rows)
        assert all(q.token.encode() not in stored_bytes() for q in queued)
    finally:
        await engine.dispose()


async def test_enqueueing_twice_queues_one_message_and_wakes_after_commit_only(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed
) -> None:
    wakes: list[int] = []
    configure_outbox(session_factory, SECRET, wake=lambda: wakes.append(1))
    (queued,) = await queue_invitations(session_factory, seed.service.id, seed.office.id, 1)
    assert wakes == [1]
    async with session_factory() as session:
        await enqueue_invitation(
            session,
            invitation_id=queued.invitation_id,
            respondent_id=queued.respondent_id,
            token=queued.token,
        )
        await session.rollback()
        await session.commit()  # nothing enqueued in this transaction: no wake
        await enqueue_invitation(
            session,
            invitation_id=queued.invitation_id,
            respondent_id=queued.respondent_id,
            token=queued.token,
        )
        await session.commit()
    assert wakes == [1, 1]
    assert len(await outbox_rows(session_factory)) == 1


async def test_a_batch_of_invitations_is_queued_in_one_statement_once_each(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed
) -> None:
    configure_outbox(session_factory, SECRET)
    first, second = await queue_invitations(session_factory, seed.service.id, seed.office.id, 2)
    async with session_factory() as session:
        again = [
            InvitationToSend(q.invitation_id, q.respondent_id, q.token) for q in (first, second)
        ]
        await enqueue_invitations(session, again)  # an API batch retried: nothing doubles
        await enqueue_invitations(session, [])
        await session.commit()
    rows = await outbox_rows(session_factory)
    assert sorted(r.invitation_id for r in rows) == [first.invitation_id, second.invitation_id]
    assert all(r.status == DeliveryStatus.PENDING and r.encrypted_token for r in rows)


async def test_a_dispatcher_stopped_mid_batch_hands_back_its_rows_and_a_restart_finishes(
    fake: FakeTelegram, outbox_sessions: async_sessionmaker[AsyncSession], seed: Seed
) -> None:
    queued = await queue_invitations(outbox_sessions, seed.service.id, seed.office.id, 60)
    bot = fake_bot(fake.url)
    try:
        first = dispatcher(bot, outbox_sessions, rate_per_s=60)
        task = asyncio.create_task(first.deliver_due())
        await fake.wait_for(lambda: sum(fake.sent_per_chat().values()) >= 20, timeout=10)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        at_stop = Counter(r.status for r in await outbox_rows(outbox_sessions))
        # Sends in flight were recorded, claimed rows given back: nothing waits for a lease.
        assert at_stop[DeliveryStatus.SENDING] == 0
        assert at_stop[DeliveryStatus.PENDING] > 0, "it really stopped midway"
        assert at_stop[DeliveryStatus.SENT] == sum(fake.sent_per_chat().values())

        await dispatcher(bot, outbox_sessions, rate_per_s=60).deliver_due()
    finally:
        await bot.session.close()
    assert fake.sent_per_chat() == Counter({q.chat_id: 1 for q in queued})
    assert all(r.status == DeliveryStatus.SENT for r in await outbox_rows(outbox_sessions))


async def test_rows_of_a_dispatcher_that_died_are_sent_when_their_lease_ends(
    fake: FakeTelegram, outbox_sessions: async_sessionmaker[AsyncSession], seed: Seed
) -> None:
    queued = await queue_invitations(outbox_sessions, seed.service.id, seed.office.id, 5)
    async with outbox_sessions() as session:  # a dispatcher claims, then dies before sending
        lease = timedelta(seconds=60)
        await claim_due(session, now=utcnow(), limit=3, lease=lease, claim=new_claim())
        await session.commit()
    clock = ShiftedClock()
    bot = fake_bot(fake.url)
    try:
        await dispatcher(bot, outbox_sessions, clock=clock).deliver_due()
        assert sum(fake.sent_per_chat().values()) == 2  # the held rows wait for their lease
        clock.offset = timedelta(seconds=61)
        await dispatcher(bot, outbox_sessions, clock=clock).deliver_due()
    finally:
        await bot.session.close()
    assert fake.sent_per_chat() == Counter({q.chat_id: 1 for q in queued})
    rows = await outbox_rows(outbox_sessions)
    assert sorted(r.attempts for r in rows) == [0, 0, 1, 1, 1]  # a taken-over lease counts


async def test_the_pacer_never_gives_more_than_the_rate_in_a_second_even_after_a_stall() -> None:
    pacer = Pacer(40)
    loop = asyncio.get_running_loop()
    taken: list[float] = []
    for index in range(120):
        await pacer.slot()
        taken.append(loop.time())
        if index == 30:
            time.sleep(0.25)  # noqa: ASYNC251 (the loop starved of CPU: later slots must not bunch)
        if index == 70:
            pacer.pause(0.3)  # a 429's retry_after
    assert max_in_window(taken) <= 40
    assert taken[71] - taken[70] >= 0.3
    pace = (len(taken) - 1) / (taken[-1] - taken[0] - 0.25 - 0.3)
    assert 40 * 0.93 <= pace <= 40  # near the rate, not far below it


async def test_a_429_widens_the_pacers_room_and_calm_narrows_it_back() -> None:
    pacer = Pacer(100, slack=0.02, calm_s=0.2)
    pacer.refused(0.05)
    pacer.refused(0.05)  # the other sends of the same burst: one widening
    assert pacer.slack == pytest.approx(0.04)
    await pacer.slot()
    assert pacer.paused_for == 0
    await asyncio.sleep(0.25)
    await pacer.slot()
    assert pacer.slack == pytest.approx(0.035)
