"""`qanagat worker` composed: invitation delivery (continuously), the periodic jobs (each on its
own, qanagat/jobs.py), the gauges an on-call engineer watches, and a small HTTP server with
`/healthz` and `/metrics` on QANAGAT_WORKER_PORT."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Sequence

from aiohttp import web
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.clock import reporting_day, utcnow
from core.db import create_engine, create_session_factory
from core.metrics import LEDGER_PENDING, OUTBOX_OLDEST_DUE_SECONDS, OUTBOX_ROWS
from core.models import DeliveryStatus, InvitationDelivery, LedgerPending
from core.settings import Settings
from core.working_days import warn_about_estimated_feasts
from qanagat.delivery import run_worker_delivery
from qanagat.jobs import LAST_SUCCESS, PeriodicJob, run_once, run_periodically, worker_jobs
from qanagat.observability import metrics_response, watch_pool

log = logging.getLogger("qanagat.worker")
GAUGES_INTERVAL_S = 15.0


async def refresh_gauges(session_factory: async_sessionmaker[AsyncSession]) -> None:
    """The outbox's depth by status, how late its oldest due row is, and the ledger's queue."""
    async with session_factory() as session:
        rows = await session.execute(
            select(InvitationDelivery.status, func.count()).group_by(InvitationDelivery.status)
        )
        counts: dict[DeliveryStatus, int] = {status: count for status, count in rows}
        oldest = await session.scalar(
            select(func.min(InvitationDelivery.next_attempt_at)).where(
                InvitationDelivery.status == DeliveryStatus.PENDING
            )
        )
        pending = await session.scalar(select(func.count()).select_from(LedgerPending))
    for status in DeliveryStatus:
        OUTBOX_ROWS.labels(status.value).set(counts.get(status, 0))
    late = (utcnow() - oldest).total_seconds() if oldest is not None else 0.0
    OUTBOX_OLDEST_DUE_SECONDS.set(max(0.0, late))
    LEDGER_PENDING.set(pending or 0)


class WorkerHealth:
    """Healthy while delivery runs and the database answers; the periodic jobs' state is
    reported but does not make the worker unhealthy (a restart would stop delivery too)."""

    def __init__(self, engine: AsyncEngine, jobs: Sequence[PeriodicJob]) -> None:
        self.engine = engine
        self.jobs = jobs
        self.delivery: asyncio.Task[None] | None = None

    async def healthz(self, _request: web.Request) -> web.Response:
        checks: dict[str, object] = {}
        try:
            async with self.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as error:
            checks["database"] = f"error: {type(error).__name__}"
        running = self.delivery is not None and not self.delivery.done()
        checks["delivery"] = "ok" if running else "stopped"
        healthy = checks["database"] == "ok" and running
        now = time.time()
        checks["jobs"] = {
            job.name: (
                f"last ok {now - LAST_SUCCESS[job.name]:.0f} s ago"
                if job.name in LAST_SUCCESS
                else "not yet ok"
            )
            for job in self.jobs
        }
        return web.json_response(
            {"status": "ok" if healthy else "degraded", **checks}, status=200 if healthy else 503
        )


async def serve_health(health: WorkerHealth, host: str, port: int) -> web.AppRunner:
    app = web.Application()
    app.router.add_get("/healthz", health.healthz)
    app.router.add_get("/metrics", metrics_response)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner


async def run_worker(
    settings: Settings, *, once: bool = False, jobs: Sequence[PeriodicJob] | None = None
) -> bool:
    """Deliver invitations and run the periodic jobs until cancelled (SIGTERM); with `once`,
    do everything once and return whether every job succeeded."""
    warn_about_estimated_feasts(reporting_day(utcnow()))
    engine = create_engine(settings.database_url)
    session_factory = create_session_factory(engine)
    jobs = list(jobs) if jobs is not None else worker_jobs(settings, session_factory)
    watch_pool(engine)
    gauges = PeriodicJob(
        "metrics_gauges", lambda: refresh_gauges(session_factory), GAUGES_INTERVAL_S
    )
    try:
        if once:
            delivered = asyncio.create_task(
                run_worker_delivery(settings, session_factory, once=True)
            )
            results = [await run_once(job) for job in [*jobs, gauges]]
            await delivered
            return all(results)
        # SIGTERM (docker stop) ends the jobs like Ctrl-C: claimed rows not yet sent go back.
        main_task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        if main_task is not None:
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signal.SIGTERM, main_task.cancel)
        health = WorkerHealth(engine, jobs)
        server = await serve_health(health, settings.worker_host, settings.worker_port)
        try:
            async with asyncio.TaskGroup() as group:
                health.delivery = group.create_task(
                    run_worker_delivery(settings, session_factory, once=False),
                    name="invitation-delivery",
                )
                for job in [*jobs, gauges]:
                    group.create_task(run_periodically(job), name=f"job-{job.name}")
        finally:
            await server.cleanup()
    except asyncio.CancelledError:
        log.info("worker stopped")
    finally:
        await engine.dispose()
    return True
