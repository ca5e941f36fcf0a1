"""Where delivery runs: `qanagat worker` (killed with SIGKILL and restarted midway), the embedded
server (woken in-process), two dispatchers on one PostgreSQL outbox, and the Redis wake-up."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import utcnow
from core.job_queue import JobQueue
from core.models import DeliveryStatus
from core.outbox import claim_due, configure_outbox, new_claim
from core.settings import Settings
from tests.conftest import Seed
from tests.delivery_fixtures import (
    SECRET,
    TOKEN,
    dispatcher,
    fake_bot,
    outbox_rows,
    queue_invitations,
)
from tests.fake_telegram import FakeTelegram

pytestmark = pytest.mark.timeout(90)
QANAGAT = Path(sys.executable).parent / "qanagat"


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


def start_worker(database_url: str, api_url: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QANAGAT_")}
    env |= {
        "QANAGAT_DATABASE_URL": database_url,
        "QANAGAT_SECRET_KEY": SECRET.decode(),
        "QANAGAT_TELEGRAM_TOKEN": TOKEN,
        "QANAGAT_TELEGRAM_API_URL": api_url,
        "QANAGAT_TELEGRAM_BOT_USERNAME": "QanagatTestBot",
        "QANAGAT_DELIVERY_RATE_PER_S": "20",
        "QANAGAT_DELIVERY_LEASE_S": "2",
        "QANAGAT_DELIVERY_POLL_S": "0.2",
        "QANAGAT_LOG_LEVEL": "WARNING",
        "QANAGAT_WORKER_PORT": "0",  # any free port: tests run side by side
    }
    return subprocess.Popen([str(QANAGAT), "worker"], env=env, stderr=subprocess.PIPE)  # noqa: S603


@pytest.mark.timeout(240)  # two worker processes start: slow on a busy machine
async def test_a_worker_killed_with_sigkill_and_restarted_loses_nothing_and_resends_nothing_sent(
    fake: FakeTelegram,
    outbox_sessions: async_sessionmaker[AsyncSession],
    seed: Seed,
    database_url: str,
) -> None:
    queued = await queue_invitations(outbox_sessions, seed.service.id, seed.office.id, 60)
    received = lambda: sum(fake.sent_per_chat().values())  # noqa: E731
    worker = start_worker(database_url, fake.url)
    try:
        await fake.wait_for(lambda: received() >= 15, timeout=90, what="15 invitations sent")
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
    at_crash = {r.invitation_id: r.status for r in await outbox_rows(outbox_sessions)}
    received_at_crash = fake.sent_per_chat()
    assert set(at_crash.values()) != {DeliveryStatus.SENT}, "the worker finished before the kill"

    restarted = start_worker(database_url, fake.url)
    try:
        chats = {q.chat_id for q in queued}
        await fake.wait_for(
            lambda: chats <= set(fake.sent_per_chat()), timeout=90, what="every invitation"
        )
        await asyncio.sleep(0.3)  # the last commits
        restarted.send_signal(signal.SIGTERM)
        assert restarted.wait(timeout=10) == 0, restarted.stderr.read() if restarted.stderr else ""
    finally:
        if restarted.poll() is None:
            restarted.kill()

    per_chat = fake.sent_per_chat()
    for q in queued:
        if at_crash[q.invitation_id] == DeliveryStatus.SENT:
            assert per_chat[q.chat_id] == 1, "a message committed as sent went again"
        if per_chat[q.chat_id] > 1:
            assert at_crash[q.invitation_id] == DeliveryStatus.SENDING
            assert received_at_crash[q.chat_id] == 1
    rows = await outbox_rows(outbox_sessions)
    assert [r.status for r in rows] == [DeliveryStatus.SENT] * 60
    assert all(r.encrypted_token is None for r in rows)


async def test_the_embedded_server_delivers_at_once_and_the_button_starts_the_survey(
    fake: FakeTelegram, database_url: str, seed: Seed
) -> None:
    from qanagat.app import RUNTIME, build_app

    settings = Settings(
        database_url=database_url,
        redis_url=None,
        secret_key=SECRET.decode(),  # type: ignore[arg-type]
        telegram_token=TOKEN,  # type: ignore[arg-type]
        telegram_api_url=fake.url,
        telegram_mode="polling",
        telegram_bot_username="QanagatTestBot",
        delivery_poll_s=60,  # a message within seconds means the wake-up worked, not the poll
    )
    app = build_app(settings)
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        sessions = app[RUNTIME].session_factory
        await asyncio.sleep(0.2)  # the dispatcher's first look finds nothing and sleeps
        (queued,) = await queue_invitations(sessions, seed.service.id, seed.office.id, 1)
        citizen = fake.user(queued.chat_id, language_code="kk")
        invitation = await citizen.wait_for_message(containing="бағалаңызшы", timeout=5)
        button = invitation.button("Қызметті бағалау")
        assert button is not None
        token = button["url"].split("start=", 1)[1]
        assert token == queued.token
        await citizen.send(f"/start {token}")
        card = await citizen.wait_for_message(timeout=5)
        assert card.buttons(), card  # the survey's first question, with its answers
    finally:
        await runner.cleanup()


@pytest.mark.postgres
async def test_two_dispatchers_on_postgresql_never_take_the_same_row(
    fake: FakeTelegram,
    postgres_database: str | None,
    outbox_sessions: async_sessionmaker[AsyncSession],
    seed: Seed,
) -> None:
    if postgres_database is None:
        pytest.skip("needs PostgreSQL (QANAGAT_TEST_DATABASE_URL)")
    queued = await queue_invitations(outbox_sessions, seed.service.id, seed.office.id, 120)

    # A claim in flight holds its rows locked: a second claim skips them instead of waiting.
    async with outbox_sessions() as first, outbox_sessions() as second:
        lease = timedelta(seconds=30)
        mine = await claim_due(first, now=utcnow(), limit=30, lease=lease, claim=new_claim())
        theirs = await asyncio.wait_for(
            claim_due(second, now=utcnow(), limit=30, lease=lease, claim=new_claim()), 5
        )
        assert len(mine) == len(theirs) == 30
        assert not {d.id for d in mine} & {d.id for d in theirs}
        await first.rollback()
        await second.rollback()

    bots = [fake_bot(fake.url), fake_bot(fake.url)]
    # Batches of 36 (three seconds at 12/s): each claims a share while the other is sending.
    couriers = [dispatcher(bot, outbox_sessions, rate_per_s=12) for bot in bots]
    try:
        await asyncio.gather(*(c.deliver_due() for c in couriers))
    finally:
        for bot in bots:
            await bot.session.close()
    per_chat = fake.sent_per_chat()
    assert {per_chat[q.chat_id] for q in queued} == {1}
    assert all(c.stats["sent"] > 0 for c in couriers), [c.stats for c in couriers]
    assert sum(c.stats["sent"] for c in couriers) == 120


async def test_a_wake_up_through_redis_reaches_the_worker(redis_url: str | None) -> None:
    if redis_url is None:
        pytest.skip("needs Redis (QANAGAT_TEST_REDIS_URL)")
    worker, producer = JobQueue(redis_url), JobQueue(redis_url)
    woken = asyncio.Event()
    worker.on_delivery_wake(woken.set)
    await worker.start(consume=True)
    await producer.start()
    try:
        async with asyncio.timeout(10):
            while not woken.is_set():  # until the subscription is in place
                producer.wake_delivery_soon()
                await asyncio.sleep(0.1)
    finally:
        await producer.stop()
        await worker.stop()


async def test_without_redis_the_queue_wakes_in_process() -> None:
    queue = JobQueue(None)
    woken: list[int] = []
    queue.on_delivery_wake(lambda: woken.append(1))
    await queue.start()
    try:
        await queue.wake_delivery()
    finally:
        await queue.stop()
    assert woken == [1]
