"""The worker's periodic jobs run each on its own: one that raises is retried with backoff and
counted, and invitations keep going out; the worker answers /healthz and /metrics; the Redis
wake-up survives a dropped connection."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import aiohttp
import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.job_queue import JobQueue
from core.metrics import REGISTRY
from core.models import DeliveryStatus
from core.outbox import configure_outbox
from core.settings import Settings
from qanagat.jobs import PeriodicJob, run_once
from qanagat.worker import run_worker
from tests.conftest import Seed
from tests.delivery_fixtures import BOT_USERNAME, SECRET, TOKEN, outbox_rows, queue_invitations
from tests.fake_telegram import FakeTelegram

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def worker_settings(database_url: str, api_url: str, port: int) -> Settings:
    return Settings(
        database_url=database_url,
        redis_url=None,
        secret_key=SECRET.decode(),
        telegram_token=TOKEN,
        telegram_api_url=api_url,
        telegram_bot_username=BOT_USERNAME,
        delivery_poll_s=0.2,
        delivery_rate_per_s=50,
        worker_host="127.0.0.1",
        worker_port=port,
    )


def failed_runs(job: str) -> float:
    return (
        REGISTRY.get_sample_value("qanagat_job_runs_total", {"job_name": job, "outcome": "failed"})
        or 0
    )


def test_a_failing_job_is_retried_sooner_each_time_up_to_its_interval() -> None:
    async def nothing() -> None:
        return None

    job = PeriodicJob("x", nothing, interval_s=3600, retry_first_s=30)
    assert [job.retry_pause(n) for n in (1, 2, 3, 7, 8, 20)] == [30, 60, 120, 1920, 3600, 3600]


async def test_a_job_that_raises_is_counted_and_does_not_raise() -> None:
    async def broken() -> None:
        raise RuntimeError("the database said no")

    before = failed_runs("broken_once")
    assert await run_once(PeriodicJob("broken_once", broken, 60)) is False
    assert failed_runs("broken_once") == before + 1
    ok = REGISTRY.get_sample_value(
        "qanagat_job_runs_total", {"job_name": "broken_once", "outcome": "ok"}
    )
    assert not ok


async def test_a_job_that_keeps_failing_never_stops_invitation_delivery(
    fake: FakeTelegram,
    session_factory: async_sessionmaker[AsyncSession],
    seed: Seed,
    database_url: str,
) -> None:
    configure_outbox(session_factory, SECRET)
    calls = {"broken": 0, "healthy": 0}

    async def broken() -> None:
        calls["broken"] += 1
        raise RuntimeError("address purge failed")

    async def healthy() -> None:
        calls["healthy"] += 1

    port = free_port()
    settings = worker_settings(database_url, fake.url, port)
    jobs = [
        PeriodicJob("purge_that_fails", broken, interval_s=0.3, retry_first_s=0.05),
        PeriodicJob("deadlines", healthy, interval_s=0.3),
    ]
    failed_before = failed_runs("purge_that_fails")
    worker = asyncio.create_task(run_worker(settings, jobs=jobs))
    try:
        queued = await queue_invitations(session_factory, seed.service.id, seed.office.id, 12)
        chats = {q.chat_id for q in queued}
        await fake.wait_for(
            lambda: chats <= set(fake.sent_per_chat()) and calls["broken"] >= 3,
            timeout=60,
            what="every invitation sent while a job fails",
        )
        async with aiohttp.ClientSession() as client:
            async with client.get(f"http://127.0.0.1:{port}/healthz") as response:
                health = await response.json()
                assert response.status == 200, health
            async with client.get(f"http://127.0.0.1:{port}/metrics") as response:
                metrics = await response.text()
        assert health["delivery"] == "ok" and health["database"] == "ok"
        assert health["jobs"]["purge_that_fails"] == "not yet ok"
        assert health["jobs"]["deadlines"].startswith("last ok")
        assert 'qanagat_job_runs_total{job_name="purge_that_fails",outcome="failed"}' in metrics
        assert "qanagat_invitations_sent_total" in metrics
        assert 'qanagat_outbox_rows{status="pending"}' in metrics
    finally:
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)
    assert failed_runs("purge_that_fails") - failed_before >= 3
    assert calls["healthy"] >= 1  # the other jobs kept their schedule
    assert fake.sent_per_chat() == {chat: 1 for chat in chats}
    rows = await outbox_rows(session_factory)
    assert [row.status for row in rows] == [DeliveryStatus.SENT] * 12


async def test_the_worker_once_reports_a_failed_job_in_its_result(
    fake: FakeTelegram, session_factory: async_sessionmaker[AsyncSession], database_url: str
) -> None:
    async def broken() -> None:
        raise RuntimeError("no")

    settings = worker_settings(database_url, fake.url, free_port())
    assert await run_worker(settings, once=True, jobs=[PeriodicJob("b", broken, 1)]) is False


async def test_the_redis_wake_up_survives_a_dropped_connection(redis_url: str | None) -> None:
    if redis_url is None:
        pytest.skip("needs Redis (QANAGAT_TEST_REDIS_URL)")
    channel = "qanagat:jobs:reconnect-test"
    worker, producer = JobQueue(redis_url, channel=channel), JobQueue(redis_url, channel=channel)
    woken = asyncio.Event()
    worker.on_delivery_wake(woken.set)
    await worker.start(consume=True)
    await producer.start()
    admin = Redis.from_url(redis_url)
    try:
        async with asyncio.timeout(10):
            await worker.subscribed.wait()
        await admin.execute_command("CLIENT", "KILL", "TYPE", "pubsub")
        async with asyncio.timeout(15):
            while not woken.is_set():  # until the subscription is back
                await producer.wake_delivery()
                await asyncio.sleep(0.2)
    finally:
        await admin.aclose()
        await producer.stop()
        await worker.stop()
