"""The web edge, in front of every route (citizen pages, admin, API, health):

- malformed input is refused with a 400 before any handler sees it: a path with a control
  character, a query value with one other than tab, CR and LF (a NUL reached PostgreSQL,
  which refused it with a 503), or a path segment or query value that is a number of more
  than 18 digits (no number of ours is that long; longer ones overflowed the database);
- public entry points are rate-limited per client network (core/rate_limits.py);
- every response carries the security headers that belong to it, and no version banner.

Forms are checked where they are read (bot/web/pages.py `read_form`, admin/web/forms.py):
reading them here would consume the body the handlers stream themselves."""

from __future__ import annotations

import re
from dataclasses import dataclass

from aiohttp import web
from aiohttp.typedefs import Handler
from redis.asyncio import Redis

from core.network import client_address, network_of
from core.rate_limits import RateLimiter, rate_limiter
from core.settings import Settings

# Characters no path or query value of ours can hold. Tab, CR and LF are left to the handlers:
# a `next=` carrying them is led to a safe default rather than refused.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_HUGE_NUMBER = re.compile(r"[+-]?\d{19,}")
_PATH_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

_REFUSED = "Сұрау дұрыс емес.\nНекорректный запрос.\nThe request is not valid.\n"  # kk, ru, en
_TOO_MANY = (
    "Сұраулар тым көп. Бір минуттан кейін қайталаңыз.\n"
    "Слишком много запросов. Повторите через минуту.\n"
    "Too many requests. Try again in a minute.\n"
)
_API = "/api/"

# (path prefix, which limit) for the public entry points; the rest is not limited here (the
# survey's own pages follow a started response, the admin has its sign-in throttle).
_LIMITED = (
    ("/s/", "public"),
    ("/o/", "public"),
    ("/d/", "public"),
    ("/app/session", "public"),
    (_API, "api"),
)

STRICT_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# The API's documentation page styles itself inline and runs no script.
DOCS_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
# Telegram Web shows a Mini App in a frame of its own page; nothing else may frame ours.
MINI_APP_ANCESTORS = "frame-ancestors 'self' https://web.telegram.org"
HSTS = "max-age=31536000; includeSubDomains"
SERVER = "qanagat"


def malformed(request: web.Request) -> bool:
    """Whether the request's path or query cannot be valid for any route of ours."""
    if _PATH_CONTROL.search(request.path):
        return True
    if any(_HUGE_NUMBER.fullmatch(segment) for segment in request.path.split("/")):
        return True
    for name, value in request.query.items():
        for text in (name, value):
            if _CONTROL.search(text) or _HUGE_NUMBER.fullmatch(text.strip()):
                return True
    return False


def _refusal(request: web.Request, status: int, text: str) -> web.Response:
    if request.path.startswith(_API):
        code = "bad_request" if status == 400 else "too_many_requests"
        message = (
            "the path or query holds a control character or an over-long number"
            if status == 400
            else "too many requests from this network; retry in a minute"
        )
        response = web.json_response(
            {"error": code, "message": message, "problems": []}, status=status
        )
    else:
        response = web.Response(status=status, text=text, content_type="text/plain")
    if status == 429:
        response.headers["Retry-After"] = "60"
    return response


@dataclass(frozen=True)
class EdgeLimits:
    limiter: RateLimiter
    per_minute: dict[str, int]
    trusted_proxy_hops: int


EDGE_LIMITS = web.AppKey("qanagat_edge_limits", EdgeLimits)


@web.middleware
async def refuse_malformed(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        bad = malformed(request)
    except (UnicodeDecodeError, ValueError):
        bad = True
    if bad:
        return _refusal(request, 400, _REFUSED)
    return await handler(request)


@web.middleware
async def limit_public_entry(request: web.Request, handler: Handler) -> web.StreamResponse:
    limits = request.config_dict[EDGE_LIMITS]
    group = next((name for prefix, name in _LIMITED if request.path.startswith(prefix)), None)
    if group is not None:
        address = client_address(
            request.remote, request.headers.get("X-Forwarded-For", ""), limits.trusted_proxy_hops
        )
        network = network_of(address) if address else "unknown"
        if not await limits.limiter.allow(f"{group}:{network}", limits.per_minute[group], 60):
            return _refusal(request, 429, _TOO_MANY)
    return await handler(request)


def _is_static(path: str) -> bool:
    return path.startswith("/static/") or path.startswith("/admin/static/")


async def add_headers(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: runs for every response, the sub-apps' and static files' too."""
    headers = response.headers
    headers["Server"] = SERVER  # aiohttp would announce itself and Python with versions
    headers.setdefault("X-Content-Type-Options", "nosniff")
    if request.config_dict[HTTPS]:
        headers.setdefault("Strict-Transport-Security", HSTS)
    path = request.path
    policy = headers.get("Content-Security-Policy")
    if policy is None:
        if path.startswith(_API) or path == "/healthz" or _is_static(path):
            headers["Content-Security-Policy"] = (
                DOCS_CSP if path.rstrip("/").endswith("/docs") else STRICT_CSP
            )
        return
    if "frame-ancestors" in policy:
        return
    if path == "/app" or path.startswith("/app/") or path.startswith("/r/"):
        headers["Content-Security-Policy"] = f"{policy}; {MINI_APP_ANCESTORS}"
    else:
        headers["Content-Security-Policy"] = f"{policy}; frame-ancestors 'none'"
        headers.setdefault("X-Frame-Options", "DENY")


HTTPS = web.AppKey("qanagat_edge_https", bool)


def setup_edge(app: web.Application, settings: Settings, redis: Redis | None) -> None:
    """Put the edge in front of everything `app` serves (call before the app starts)."""
    app[HTTPS] = settings.public_url.startswith("https://")
    app[EDGE_LIMITS] = EdgeLimits(
        limiter=rate_limiter(redis),
        per_minute={
            "public": settings.public_requests_per_minute,
            "api": settings.api_requests_per_minute,
        },
        trusted_proxy_hops=settings.trusted_proxy_hops,
    )
    app.middlewares.append(refuse_malformed)
    app.middlewares.append(limit_public_entry)
    app.on_response_prepare.append(add_headers)
