"""The running application: one aiohttp server hosting the mobile page, /healthz and, when a
token is set, the Telegram bot (polling in development, webhook in production)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from typing import Any, cast

from aiohttp import web
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from admin.api import setup_api
from admin.web.app import setup_admin
from bot.datasets import DatasetDesk
from bot.engine.definition import SurveyDefinition, load_survey_dir
from bot.opening import SurveyDesk
from bot.telegram.app import build_bot, build_dispatcher
from bot.telegram.runner import mount_webhook, polling_context
from bot.web.complaints import setup_web_complaints
from bot.web.datasets import setup_web_datasets
from bot.web.keys import RATINGS_KEY
from bot.web.routes import setup_web_channel
from core.answer_writers import writer_for
from core.db import create_engine, create_session_factory
from core.integrity.flags import load_rules
from core.integrity.keeper import keep_chain
from core.job_queue import JobQueue
from core.outbox import enqueue_invitation
from core.settings import Settings
from core.unit_of_work import UnitsOfWork
from core.walk_ins import WalkIns
from qanagat.delivery import connect_outbox, server_delivery_context
from qanagat.edge import setup_edge
from qanagat.jobs import COMPLAINT_JOB, JobRunner, worker_jobs
from qanagat.observability import observe_app, observe_bot, observe_dispatcher
from qanagat.scores import score_period
from results.open_data.web import setup_open_data
from results.pages import setup_results
from results.ratings import ResultsRatings
from scoring.privacy import scrub

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    engine: AsyncEngine
    session_factory: async_sessionmaker[AsyncSession]
    redis: Redis | None


RUNTIME = web.AppKey("runtime", Runtime)
JOB_QUEUE = web.AppKey("job_queue", JobQueue)


def load_surveys(settings: Settings) -> dict[str, SurveyDefinition]:
    """All survey files; a malformed one raises SurveyError and the server does not start."""
    surveys = load_survey_dir(settings.survey_dir)
    if settings.default_survey not in surveys:
        from bot.engine.definition import Problem, SurveyError

        raise SurveyError(
            [Problem(str(settings.survey_dir), 1, f"no survey '{settings.default_survey}' here")]
        )
    return surveys


HEALTH_CHECK_TIMEOUT_S = 2.0


async def _check(probe: Awaitable[Any]) -> str:
    try:
        async with asyncio.timeout(HEALTH_CHECK_TIMEOUT_S):
            await probe
    except TimeoutError:
        return "error: no answer within 2 s"
    except Exception as error:
        return f"error: {type(error).__name__}"
    return "ok"


async def _database_answers(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


async def healthz(request: web.Request) -> web.Response:
    """200 "ok"; 200 "degraded" when Redis is away (the bot and the pages work without it,
    more slowly); 503 "down" when the database does not answer within the timeout."""
    runtime = request.app[RUNTIME]
    checks = {"database": await _check(_database_answers(runtime.engine))}
    if runtime.redis is not None:
        checks["redis"] = await _check(cast(Awaitable[bool], runtime.redis.ping()))
    if checks["database"] != "ok":
        status, code = "down", 503
    elif any(value != "ok" for value in checks.values()):
        status, code = "degraded", 200
    else:
        status, code = "ok", 200
    return web.json_response({"status": status, **checks}, status=code)


def connect_redis(url: str | None) -> Redis | None:
    """A Redis client that gives up quickly: every use of Redis has a way on without it, which
    a client retrying with back-off for seconds would only delay."""
    if not url:
        return None
    return Redis.from_url(
        url,
        socket_connect_timeout=1.0,
        socket_timeout=2.0,
        retry=Retry(NoBackoff(), 1),
    )


# Container objects allocated (net of those freed) before a young collection: Python's
# default, 700, ran one every few updates, each walking the objects of every update in
# flight (measured: 7 % of the bot's CPU under load). Almost everything an update allocates
# is freed by reference counting; cycles are rare, so they may wait a little longer.
YOUNG_COLLECTION_THRESHOLD = 50_000


def settle_heap() -> None:
    """Call once the app is built: what exists now lives as long as the process, so move it
    out of the garbage collector's generations, and collect young objects less often. Full
    collections then stay short; they stop every update in flight while they run."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, middle, old)


def build_app(
    settings: Settings,
    *,
    with_bot: bool = True,
    surveys: dict[str, SurveyDefinition] | None = None,
    with_jobs: bool = False,
) -> web.Application:
    """The server: mobile pages, admin, API and (with a token) the bot. `with_jobs`: in the
    embedded mode (no Redis), the worker's periodic jobs run here too, as `qanagat serve` wants."""
    surveys = surveys if surveys is not None else load_surveys(settings)
    rules = load_rules(settings.anti_gaming_rules)
    engine = create_engine(settings.database_url)
    session_factory = create_session_factory(engine)
    # The answer path's database-specific writer, picked once here (like cosmicpython's
    # bootstrap): PostgreSQL through asyncpg batches answers, anything else runs plain
    # statements.
    writer = writer_for(engine, statement_cache=not settings.database_behind_pgbouncer)
    units = UnitsOfWork(session_factory, writer)
    redis = connect_redis(settings.redis_url)
    walk_ins = WalkIns.from_secret(
        settings.secret_bytes(), settings.poster_grace_days, settings.walk_in_limit_per_day
    )
    desk = SurveyDesk(surveys, settings.default_survey, walk_ins)

    # Invitations enqueued by this process wake the dispatcher: through Redis in production,
    # in this process in the embedded mode, where the dispatcher then runs here too.
    queue = JobQueue(settings.redis_url)
    connect_outbox(settings, session_factory, queue)
    dispatch_here = with_bot and settings.telegram_token is not None and queue.in_process
    jobs = (
        JobRunner(worker_jobs(settings, session_factory))
        if with_jobs and queue.in_process
        else None
    )

    app = web.Application(client_max_size=256 * 1024)
    app[RUNTIME] = Runtime(settings, engine, session_factory, redis)
    app[JOB_QUEUE] = queue
    app.cleanup_ctx.append(
        server_delivery_context(settings, session_factory, queue, dispatch=dispatch_here)
    )
    setup_edge(app, settings, redis)
    app.router.add_get("/healthz", healthz)
    observe_app(app, engine)
    setup_web_channel(
        app, settings=settings, session_factory=session_factory, desk=desk, units=units
    )
    setup_web_complaints(app, scrub)
    datasets = DatasetDesk.from_surveys(surveys, scrub, rules)
    if datasets is not None:
        setup_web_datasets(app, datasets)
    setup_admin(
        app,
        settings=settings,
        session_factory=session_factory,
        redis=redis,
        scorer=score_period,
        complaint_changed=(lambda: jobs.wake(COMPLAINT_JOB)) if jobs is not None else None,
    )
    setup_open_data(app, session_factory=session_factory, cache_dir=settings.open_data_dir)
    public_results = setup_results(app, session_factory)
    ratings = ResultsRatings(session_factory, public_results, settings.public_url)
    app[RATINGS_KEY] = ratings  # the thank-you page shows the office's rating
    setup_api(
        app,
        settings=settings,
        session_factory=session_factory,
        redis=redis,
        survey_ttl_hours={survey.id: survey.invitation_ttl_hours for survey in surveys.values()},
        enqueue_invitation=enqueue_invitation,
    )

    if with_bot and settings.telegram_token is not None:
        bot = observe_bot(build_bot(settings))
        dispatcher = build_dispatcher(
            settings,
            units,
            desk,
            redis,
            complaint_scrub=scrub,
            dataset_desk=datasets,
            office_ratings=ratings,
        )
        observe_dispatcher(dispatcher)
        if settings.telegram_mode == "webhook":
            secret = settings.telegram_webhook_secret
            mount_webhook(
                app,
                bot,
                dispatcher,
                settings.public_url,
                secret.get_secret_value() if secret else None,
            )
        else:
            app.cleanup_ctx.append(polling_context(bot, dispatcher))

    async def chain_keeper(_app: web.Application) -> AsyncIterator[None]:
        # Completions only queue their response; this process counts and chains the queue,
        # judging it by the rules picked above.
        task = asyncio.create_task(keep_chain(session_factory, rules), name="chain keeper")
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    app.cleanup_ctx.append(chain_keeper)
    if jobs is not None:
        app.cleanup_ctx.append(jobs.context)

    async def close_connections(_app: web.Application) -> AsyncIterator[None]:
        yield
        await writer.close()
        await engine.dispose()
        if redis is not None:
            await redis.aclose()

    app.cleanup_ctx.insert(0, close_connections)
    return app
