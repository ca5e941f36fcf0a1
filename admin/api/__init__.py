"""The integration API under /api/v1/: service events in, invitations out (OpenAPI 3.1).

    POST /api/v1/service-events   one event or a batch of up to 1,000      events.py
    GET  /api/v1/openapi.json     the OpenAPI document                      openapi.py
    GET  /api/v1/docs             the same as a web page                    docs.py

A sub-application with its own error middleware: every refusal, also a 404 or 405 under
/api/v1/, is a JSON body with a code, a message and the problems' paths (errors.py)."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from aiohttp import web
from aiohttp.typedefs import Handler
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from admin.api.auth import SeenSignatures
from admin.api.docs import render_docs
from admin.api.errors import ApiError
from admin.api.events import API_CONTEXT, ApiContext, post_service_events
from admin.api.openapi import openapi_document
from core import apikeys
from core.intake import EnqueueInvitation, Intake
from core.settings import Settings

log = logging.getLogger(__name__)
PREFIX = "/api/v1/"
_CODES = {404: "not_found", 405: "method_not_allowed"}


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as error:
        return error.response()
    except web.HTTPException as error:
        if error.status < 400:
            raise
        headers = {"Allow": error.headers["Allow"]} if "Allow" in error.headers else None
        return ApiError(
            error.status,
            _CODES.get(error.status, "http_error"),
            # Never the path back: a caller's input is not echoed into an answer.
            f"{error.reason}: {request.method}",
            headers=headers,
        ).response()
    except Exception:
        log.exception("API request failed: %s %s", request.method, request.path)
        return ApiError(
            500, "internal_error", "the request failed on our side; nothing was recorded"
        ).response()


async def get_openapi(request: web.Request) -> web.Response:
    return web.json_response(openapi_document(request.app[API_CONTEXT].public_url))


async def get_docs(request: web.Request) -> web.Response:
    html = render_docs(openapi_document(request.app[API_CONTEXT].public_url))
    return web.Response(text=html, content_type="text/html")


def setup_api(
    app: web.Application,
    *,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    redis: Redis | None,
    survey_ttl_hours: Mapping[str, int],
    enqueue_invitation: EnqueueInvitation | None = None,
) -> web.Application:
    """Mount the API on `app` under /api/v1/. `survey_ttl_hours` (survey id -> hours) comes
    from the survey files; `enqueue_invitation` is the delivery outbox's entry, called for each
    invitation of a citizen with a linked chat."""
    secret = settings.secret_bytes()
    api = web.Application(middlewares=[json_errors])
    api[API_CONTEXT] = ApiContext(
        session_factory=session_factory,
        intake=Intake(secret, settings.invitation_cooldown_days, enqueue_invitation),
        server_secret=secret,
        signing_box=apikeys.signing_box(secret),
        seen_signatures=SeenSignatures(redis),
        survey_ttl_hours=dict(survey_ttl_hours),
        default_survey=settings.default_survey,
        public_url=settings.public_url.rstrip("/"),
        bot_username=settings.telegram_bot_username,
        max_body_bytes=settings.api_max_body_bytes,
    )
    api.router.add_post("/service-events", post_service_events)
    api.router.add_get("/openapi.json", get_openapi)
    api.router.add_get("/docs", get_docs)
    app.add_subapp(PREFIX, api)
    return api
