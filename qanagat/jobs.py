"""The worker's periodic jobs, each on its own: a job that raises is logged, counted and retried
with a growing pause, while the other jobs and invitation delivery go on.

Plain asyncio tasks rather than a queue library's scheduler: one worker runs them (one per bot
token), their state is in the database, and a missed run is simply done at the next one
(docs/decisions.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import utcnow
from core.metrics import JOB_LAST_SUCCESS, JOB_RUNS, JOB_SECONDS
from core.settings import Settings
from core.unit_of_work import UnitsOfWork

log = logging.getLogger("qanagat.worker")
# When each job last finished without error (time.time()), for the worker's /healthz.
LAST_SUCCESS: dict[str, float] = {}
# The job that writes complaint flags and sends the citizens' notices (see `worker_jobs`).
COMPLAINT_JOB = "complaint_deadlines"


@dataclass(frozen=True)
class PeriodicJob:
    """`run` every `interval_s`; after a failure again in `retry_first_s`, doubling each time
    up to the interval."""

    name: str
    run: Callable[[], Awaitable[None]]
    interval_s: float
    retry_first_s: float = 30.0

    def retry_pause(self, failures_in_a_row: int) -> float:
        return min(self.retry_first_s * 2.0 ** (failures_in_a_row - 1), self.interval_s)


async def run_once(job: PeriodicJob) -> bool:
    """One run of `job`: True when it finished; an exception is logged and counted, never
    raised (cancellation is)."""
    started = time.monotonic()
    try:
        await job.run()
    except Exception:
        JOB_RUNS.labels(job.name, "failed").inc()
        log.exception("job %s failed", job.name)
        return False
    finally:
        JOB_SECONDS.labels(job.name).observe(time.monotonic() - started)
    JOB_RUNS.labels(job.name, "ok").inc()
    LAST_SUCCESS[job.name] = time.time()
    JOB_LAST_SUCCESS.labels(job.name).set(LAST_SUCCESS[job.name])
    return True


async def run_periodically(job: PeriodicJob, woken: asyncio.Event | None = None) -> None:
    """Run `job` until cancelled; `woken`, when set, starts the next run before its time."""
    failures = 0
    while True:
        if await run_once(job):
            failures = 0
            await _pause(job.interval_s, woken)
        else:
            failures += 1
            pause = job.retry_pause(failures)
            log.warning(
                "job %s: %d failures in a row, retried in %.0f s", job.name, failures, pause
            )
            await _pause(pause, woken)


async def _pause(seconds: float, woken: asyncio.Event | None) -> None:
    if woken is None:
        await asyncio.sleep(seconds)
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(woken.wait(), seconds)
    woken.clear()


class JobRunner:
    """The periodic jobs run inside the server, for the embedded mode (`qanagat serve` without
    Redis and without `qanagat worker`): the same jobs, each on its own; `wake` runs one now
    rather than at its next interval, so a complaint answered in the admin reaches the
    citizen's chat within seconds, not within the hour."""

    def __init__(self, jobs: Sequence[PeriodicJob]) -> None:
        self.jobs = list(jobs)
        self._wakes = {job.name: asyncio.Event() for job in self.jobs}

    def wake(self, name: str) -> None:
        event = self._wakes.get(name)
        if event is not None:
            event.set()

    async def context(self, _app: web.Application) -> AsyncIterator[None]:
        """An aiohttp cleanup context: the jobs run for the server's lifetime."""
        tasks = [
            asyncio.create_task(
                run_periodically(job, self._wakes[job.name]), name=f"job-{job.name}"
            )
            for job in self.jobs
        ]
        log.info("the worker's jobs run in the server (no Redis configured)")
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task


async def close_abandoned_responses(units: UnitsOfWork, batch: int = 1000) -> int:
    """Close every unfinished response whose invitation has expired, in batches of `batch`
    (each its own transaction); how many were closed."""
    total = 0
    while True:
        async with units() as uow:
            closed = await uow.responses.close_abandoned(utcnow(), batch)
            await uow.commit()
        total += closed
        if closed < batch:
            return total


def worker_jobs(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession]
) -> list[PeriodicJob]:
    """The worker's periodic jobs, every QANAGAT_WORKER_INTERVAL_S."""
    from core.integrity.retention import forget_old_traces
    from core.retention import purge_idle_addresses, unlink_expired_events
    from qanagat.complaint_jobs import run_complaint_jobs
    from qanagat.staff_jobs import run_staff_jobs

    async def purge_addresses() -> None:
        async with session_factory() as session:
            purged = await purge_idle_addresses(session, settings.address_retention_days)
            await session.commit()
        log.info("deleted %d idle write-back addresses", purged)

    async def forget_traces() -> None:
        async with session_factory() as session:
            passes, digests = await forget_old_traces(session, settings.address_retention_days)
            await session.commit()
        log.info("deleted %d old walk-in passes, %d network digests", passes, digests)

    async def unlink_events() -> None:
        async with session_factory() as session:
            unlinked = await unlink_expired_events(session, settings.event_link_retention_days)
            await session.commit()
        log.info("unlinked %d responses from expired invitations' events", unlinked)

    async def purge_conversation_state() -> None:
        """The bot's conversation state in Redis of people forgotten meanwhile (it expires on
        its own too)."""
        from bot.telegram.fsm_storage import purge_conversation_state as purge
        from qanagat.app import connect_redis

        redis = connect_redis(settings.redis_url)
        assert redis is not None  # the job is listed only with Redis configured
        try:
            async with session_factory() as session:
                deleted = await purge(redis, session)
        finally:
            await redis.aclose()
        log.info("deleted %d keys of conversation state", deleted)

    async def abandoned_responses() -> None:
        """Unfinished responses whose invitation expired: closed as abandoned, counted."""
        closed = await close_abandoned_responses(UnitsOfWork(session_factory))
        log.info("closed %d unfinished responses of expired invitations as abandoned", closed)

    async def complaint_deadlines() -> None:
        await run_complaint_jobs(settings, session_factory)

    async def staff_chats() -> None:
        await run_staff_jobs(settings, session_factory)

    interval = float(settings.worker_interval_s)
    redis_jobs = (
        [PeriodicJob("conversation_purge", purge_conversation_state, interval)]
        if settings.redis_url
        else []
    )
    return [
        *redis_jobs,
        PeriodicJob("address_purge", purge_addresses, interval),
        PeriodicJob("trace_purge", forget_traces, interval),
        PeriodicJob("event_unlink", unlink_events, interval),
        PeriodicJob("abandoned_responses", abandoned_responses, interval),
        PeriodicJob(COMPLAINT_JOB, complaint_deadlines, interval),
        PeriodicJob("staff_chats", staff_chats, interval),
    ]
