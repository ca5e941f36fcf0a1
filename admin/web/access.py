"""Who may open what, in one place.

Every handler declares its requirement with `@allow(...)` (or `@public`); `add_route` copies
the declaration into the app's access table, and `access_middleware` checks it for every
request under /admin, before the handler runs. A route without a declaration is refused
(fail closed), and the authorisation test walks the router to check every route as anonymous,
agency, analyst and admin. Data of one agency is then narrowed by `admin.scope.scope`.

The middleware also resolves the session (the viewer and their language), checks the CSRF
token of every unsafe request, and turns any failure into a page in the viewer's language."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from admin.web import sessions, words
from admin.web.keys import LANG, VIEWER, Viewer, config_of
from admin.web.render import login_redirect, message_page, redirect, url_for
from admin.web.sessions import COOKIE, LANG_COOKIE, PRE_COOKIE, Lifetimes
from core.language import preferred_language
from core.models import AdminRole

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
EVERYONE = frozenset(AdminRole)
READERS = frozenset({AdminRole.ADMIN, AdminRole.ANALYST})
ADMINS = frozenset({AdminRole.ADMIN})


@dataclass(frozen=True)
class Access:
    """A route's requirement. `roles` None: open to anyone (sign-in page, static files).
    `agency_home`: agency users are sent to their own agency's page instead of a 403."""

    roles: frozenset[AdminRole] | None
    agency_home: bool = False

    def outcome(self, role: AdminRole | None) -> str:
        """What this route must do for `role` (None: not signed in): allowed, login, home,
        forbidden. The middleware and the authorisation test both read it."""
        if self.roles is None:
            return "allowed"
        if role is None:
            return "login"
        if role in self.roles:
            return "allowed"
        if self.agency_home and role is AdminRole.AGENCY:
            return "home"
        return "forbidden"


ACCESS_ATTRIBUTE = "__qanagat_access__"
# Says which refusal the middleware gave (login, home, forbidden), for logs and tests.
OUTCOME_HEADER = "X-Admin-Access"
ACCESS_TABLE = web.AppKey("qanagat_admin_access", dict)  # route -> Access


def allow(
    roles: frozenset[AdminRole], *, agency_home: bool = False
) -> Callable[[Handler], Handler]:
    def declare(handler: Handler) -> Handler:
        setattr(handler, ACCESS_ATTRIBUTE, Access(roles, agency_home))
        return handler

    return declare


def public(handler: Handler) -> Handler:
    setattr(handler, ACCESS_ATTRIBUTE, Access(None))
    return handler


def add_route(
    app: web.Application, method: str, path: str, handler: Handler, name: str | None = None
) -> None:
    access = getattr(handler, ACCESS_ATTRIBUTE, None)
    if not isinstance(access, Access):
        raise TypeError(f"{handler.__qualname__} declares no access (@allow or @public)")
    route = app.router.add_route(method, path, handler, name=name)
    app[ACCESS_TABLE][route] = access
    if method == "GET":  # HEAD answers like GET (monitoring, link checkers), same rule
        app[ACCESS_TABLE][app.router.add_route("HEAD", path, handler)] = access


def declare_route(app: web.Application, route: web.AbstractRoute, access: Access) -> None:
    """For routes aiohttp makes itself (static files)."""
    app[ACCESS_TABLE][route] = access


def access_of(app: web.Application, route: web.AbstractRoute) -> Access | None:
    table: dict[Any, Access] = app[ACCESS_TABLE]
    return table.get(route)


@web.middleware
async def access_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await _checked(request, handler)
    except web.HTTPException:
        raise
    except Exception:
        log.exception("admin: %s %s failed", request.method, request.path)
        try:
            return message_page(request, "try_again_later", 503)
        except Exception:
            log.exception("admin: the apology page failed too")
            return web.Response(status=503, text="Service temporarily unavailable")


async def _checked(request: web.Request, handler: Handler) -> web.StreamResponse:
    config = config_of(request)
    viewer = await _viewer(request)
    request[VIEWER] = viewer
    request[LANG] = _language(request, viewer)
    match = request.match_info
    if match.http_exception is not None:
        status = match.http_exception.status
        return message_page(request, "not_found" if status == 404 else "bad_request", status)
    access = access_of(request.app, match.route)
    if access is None:  # an undeclared route: refuse, and say so in the log
        log.error("admin: route %s has no access declaration", match.route)
        return message_page(request, "forbidden", 403)

    pre_token = _pre_token(request, viewer)
    request["qanagat_admin_pre_csrf"] = (
        sessions.csrf_token(config.settings.secret_bytes(), "pre/" + pre_token) if pre_token else ""
    )
    try:
        csrf_ok = request.method in SAFE_METHODS or await _csrf_ok(request, viewer)
    except web.HTTPRequestEntityTooLarge:  # an upload over the server's request limit
        return message_page(request, "upload_too_large", 413)
    if not csrf_ok:
        refusal = message_page(request, "csrf_failed", 403)
        refusal.headers[OUTCOME_HEADER] = "csrf"
        return refusal

    outcome = access.outcome(viewer.role if viewer else None)
    if outcome != "allowed":
        refusal = _refusal(request, outcome, viewer)
        refusal.headers[OUTCOME_HEADER] = outcome
        return refusal
    response = await handler(request)
    if viewer is None and pre_token and request.cookies.get(PRE_COOKIE) != pre_token:
        mount, secure = config.mount, config.secure_cookies
        sessions.set_cookie(
            response, PRE_COOKIE, pre_token, path=mount, secure=secure, max_age=3600
        )
    return response


def _pre_token(request: web.Request, viewer: Viewer | None) -> str:
    """Forms before sign-in (the sign-in form) bind their CSRF token to this cookie's value;
    a safe request without a good one gets a new one."""
    pre_token = request.cookies.get(PRE_COOKIE) or ""
    if viewer is None and request.method in SAFE_METHODS:
        return pre_token if len(pre_token) == 43 else secrets.token_urlsafe(32)
    return pre_token


def _refusal(request: web.Request, outcome: str, viewer: Viewer | None) -> web.Response:
    if outcome == "login":
        return login_redirect(request)
    if outcome == "home" and viewer is not None and viewer.agency_code is not None:
        return redirect(url_for(request, "agency", code=viewer.agency_code))
    return message_page(request, "forbidden", 403)


async def _csrf_ok(request: web.Request, viewer: Viewer | None) -> bool:
    if request.content_type not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return False
    form = await request.post()
    given = form.get("csrf")
    if not isinstance(given, str) or not given:
        return False
    expected = viewer.csrf if viewer else request.get("qanagat_admin_pre_csrf", "")
    return bool(expected) and sessions.tokens_equal(given, expected)


def lifetimes(request: web.Request) -> Lifetimes:
    from datetime import timedelta

    settings = config_of(request).settings
    return Lifetimes(
        idle=timedelta(minutes=settings.admin_session_idle_minutes),
        absolute=timedelta(hours=settings.admin_session_absolute_hours),
    )


async def _viewer(request: web.Request) -> Viewer | None:
    token = request.cookies.get(COOKIE)
    if not token or len(token) > 128:
        return None
    config = config_of(request)
    async with config.session_factory() as db:
        found = await sessions.live_session(db, token, config.clock(), lifetimes(request))
    if found is None:
        return None
    session, user, agency_code = found
    return Viewer(
        user_id=user.id,
        email=user.email,
        role=user.role,
        agency_id=user.agency_id,
        agency_code=agency_code,
        language=user.language,
        session_id=session.id,
        csrf=sessions.csrf_token(config.settings.secret_bytes(), token),
    )


def _language(request: web.Request, viewer: Viewer | None) -> str:
    if viewer is not None:
        return viewer.language
    return (
        words.known_language(request.query.get("lang"))
        or words.known_language(request.cookies.get(LANG_COOKIE))
        or preferred_language(request.headers.get("Accept-Language", ""))
        or words.DEFAULT_LANGUAGE
    )
