"""Metrics and logs of the running processes: `/metrics`, request latency by route, Telegram
updates handled and refused, Bot API calls, pool usage, and JSON log lines carrying the request
or update id (docs/operations.md, "Metrics" and "Logs").

Each hook is one call where the app is composed (qanagat/app.py, qanagat/delivery.py): a
middleware, never a change inside the handlers."""

from __future__ import annotations

import json
import logging
import secrets
import time
import traceback
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from aiogram import BaseMiddleware, Bot, Dispatcher
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.exceptions import (
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import TelegramObject, Update
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.ext.asyncio import AsyncEngine

from core.metrics import (
    POOL_CONNECTIONS,
    REGISTRY,
    REQUEST_SECONDS,
    TELEGRAM_CALLS,
    UPDATES_HANDLED,
    UPDATES_REFUSED,
)

REQUEST_ID: ContextVar[str | None] = ContextVar("qanagat_request_id", default=None)
UPDATE_ID: ContextVar[int | None] = ContextVar("qanagat_update_id", default=None)
REQUEST_ID_HEADER = "X-Request-Id"
WEBHOOK_PATH = "/telegram/webhook"
_PASSED_CLAIMS = "qanagat_passed_claims"


async def metrics_response(_request: web.Request) -> web.Response:
    """Prometheus' text format of this process's metrics."""
    body = generate_latest(REGISTRY)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def _request_id(request: web.Request) -> str:
    given = request.headers.get(REQUEST_ID_HEADER, "")
    # the proxy's id (nginx's $request_id) when it looks like one, so both logs can be joined
    if 8 <= len(given) <= 64 and given.isalnum():
        return given
    return secrets.token_hex(8)


@web.middleware
async def observe_requests(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Time every request by its route pattern (never its path, which may carry a token), and
    give its log lines and its response a request id."""
    request_id = _request_id(request)
    token = REQUEST_ID.set(request_id)
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        response.headers[REQUEST_ID_HEADER] = request_id
        return response
    except web.HTTPException as error:
        status = error.status
        raise
    finally:
        route = request.match_info.route.resource
        pattern = route.canonical if route is not None else "unmatched"
        REQUEST_SECONDS.labels(pattern, request.method, f"{status // 100}xx").observe(
            time.perf_counter() - started
        )
        if pattern == WEBHOOK_PATH and status == 401:
            UPDATES_REFUSED.labels("bad_secret").inc()
        REQUEST_ID.reset(token)


def observe_app(app: web.Application, engine: AsyncEngine) -> None:
    """`/metrics`, request timing and ids, and the pool's gauges on a server app."""
    app.middlewares.insert(0, observe_requests)
    app.router.add_get("/metrics", metrics_response)
    watch_pool(engine)


def watch_pool(engine: AsyncEngine) -> None:
    """The pool's connections, read at each scrape (SQLite's pool has no such figures)."""
    pool: Any = engine.pool
    if not hasattr(pool, "checkedout"):
        return
    POOL_CONNECTIONS.labels("in_use").set_function(lambda: pool.checkedout())
    POOL_CONNECTIONS.labels("idle").set_function(lambda: pool.checkedin())
    POOL_CONNECTIONS.labels("size").set_function(lambda: pool.size())


class UpdateMetrics(BaseMiddleware):
    """Outermost on updates: the update id for the logs, and each update counted as handled
    or refused (a duplicate delivery, no handler for it, an error)."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        update_id = event.update_id if isinstance(event, Update) else None
        token = UPDATE_ID.set(update_id)
        try:
            result = await handler(event, data)
        except Exception:
            UPDATES_REFUSED.labels("error").inc()
            raise
        finally:
            UPDATE_ID.reset(token)
        if not data.get(_PASSED_CLAIMS):
            UPDATES_REFUSED.labels("duplicate").inc()
        elif result is UNHANDLED:
            UPDATES_REFUSED.labels("unhandled").inc()
        else:
            kind = event.event_type if isinstance(event, Update) else "other"
            UPDATES_HANDLED.labels(kind).inc()
        return result


class PassedClaims(BaseMiddleware):
    """Innermost on updates: marks an update that got past the duplicate check."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        data[_PASSED_CLAIMS] = True
        return await handler(event, data)


def observe_dispatcher(dispatcher: Dispatcher) -> None:
    """Put `UpdateMetrics` outside the dispatcher's own update middlewares and `PassedClaims`
    inside them."""
    manager = dispatcher.update.outer_middleware
    existing = list(manager)
    for middleware in existing:
        manager.unregister(middleware)
    manager.register(UpdateMetrics())
    for middleware in existing:
        manager.register(middleware)
    manager.register(PassedClaims())


class TelegramCallMetrics(BaseRequestMiddleware):
    """Every Bot API call counted by method and outcome: 429s, the other refusals, network."""

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        name = method.__api_method__
        try:
            response = await make_request(bot, method)
        except TelegramRetryAfter:
            TELEGRAM_CALLS.labels(name, "429").inc()
            raise
        except TelegramServerError:
            TELEGRAM_CALLS.labels(name, "5xx").inc()
            raise
        except TelegramNetworkError:
            TELEGRAM_CALLS.labels(name, "network").inc()
            raise
        except Exception:
            TELEGRAM_CALLS.labels(name, "4xx").inc()
            raise
        TELEGRAM_CALLS.labels(name, "ok").inc()
        return response


def observe_bot(bot: Bot) -> Bot:
    bot.session.middleware(TelegramCallMetrics())
    return bot


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and the request or update id
    when there is one. Messages name references and counts, never what a citizen gave."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if (request_id := REQUEST_ID.get()) is not None:
            line["request_id"] = request_id
        if (update_id := UPDATE_ID.get()) is not None:
            line["update_id"] = update_id
        if record.exc_info:
            line["error"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        return json.dumps(line, ensure_ascii=False)


def configure_logging(level: str, log_format: str) -> None:
    """Logging for every command: JSON lines in production (QANAGAT_LOG_FORMAT=json), plain
    lines otherwise."""
    handler = logging.StreamHandler()
    if log_format == "json":
        handler.setFormatter(JsonLogFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # One INFO line per update and per request is noise at production volume.
    logging.getLogger("aiogram.event").setLevel(logging.WARNING)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
