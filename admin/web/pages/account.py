"""Signing in and out, changing one's password, choosing the language."""

from __future__ import annotations

import asyncio
import random
from urllib.parse import urlsplit

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from admin import accounts
from admin.audit import Action, record
from admin.web import sessions, words
from admin.web.access import EVERYONE, add_route, allow, lifetimes, public
from admin.web.keys import ADMIN, LANG, client_of, config_of, lang_of, signed_in, viewer_of
from admin.web.render import page, redirect, url_for
from admin.web.sessions import COOKIE, LANG_COOKIE, PRE_COOKIE
from admin.web.throttle import throttle_keys
from core.models import AdminRole, AdminUser, Agency


def setup(app: web.Application) -> None:
    add_route(app, "GET", "/login", login_page, name="login")
    add_route(app, "POST", "/login", login, name="login_post")
    add_route(app, "POST", "/logout", logout, name="logout")
    add_route(app, "GET", "/password", password_page, name="password")
    add_route(app, "POST", "/password", change_password, name="password_post")
    add_route(app, "POST", "/language", choose_language, name="language")


def home_of(request: web.Request, role: AdminRole, agency_code: str | None) -> str:
    if role is AdminRole.AGENCY and agency_code:
        return url_for(request, "agency", code=agency_code)
    return url_for(request, "overview")


def _safe_next(request: web.Request, target: str | None) -> str | None:
    """Only a path of our own admin: never an open redirect."""
    if not target:
        return None
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in target):
        return None  # CR/LF would split the Location header; NUL has no place in a URL
    parts = urlsplit(target)
    mount = config_of(request).mount
    if parts.scheme or parts.netloc or not parts.path.startswith(mount + "/") or "\\" in target:
        return None
    return target


@public
async def login_page(request: web.Request) -> web.StreamResponse:
    viewer = viewer_of(request)
    if viewer is not None:
        return redirect(home_of(request, viewer.role, viewer.agency_code))
    response = _login_form(request, email="", error=None, status=200)
    if words.known_language(request.query.get("lang")):
        config = config_of(request)
        sessions.set_cookie(
            response,
            LANG_COOKIE,
            lang_of(request),
            path=config.mount,
            secure=config.secure_cookies,
            max_age=365 * 86400,
        )
    return response


def _login_form(
    request: web.Request, *, email: str, error: str | None, status: int
) -> web.Response:
    lang = lang_of(request)
    return page(
        request,
        "login.html",
        {
            "email": email,
            "error": error,
            "next": _safe_next(request, request.query.get("next")) or "",
            "language_links": [
                {
                    "code": c,
                    "name": n,
                    "href": url_for(request, "login", {"lang": c}),
                    "current": c == lang,
                }
                for c, n in words.LANGUAGE_NAMES.items()
            ],
        },
        status=status,
    )


@public
async def login(request: web.Request) -> web.StreamResponse:
    config = request.app[ADMIN]
    lang = lang_of(request)
    form = await request.post()
    typed = str(form.get("email", ""))
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in typed):
        # No e-mail holds a control character: refused at the door, before any count, check
        # or audit record (such a value once broke the audit log's spreadsheet).
        return _login_form(request, email="", error=words.say("login_failed", lang), status=400)
    email = accounts.normalise_email(typed)[:254]
    password = str(form.get("password", ""))[: accounts.MAX_PASSWORD_LENGTH]
    keys = throttle_keys(email, client_of(request))
    # Counted before the password is checked: parallel guesses cannot outrun the limit.
    if not await config.throttle.attempt(keys):
        async with config.session_factory() as db:
            await _failed(request, db, email, "throttled")
        minutes = config.settings.admin_login_window_minutes
        error = words.say("login_throttled", lang, minutes=minutes)
        return _login_form(request, email=email, error=error, status=429)
    async with config.session_factory() as db:
        user, failure = await _checked_user(db, email, password)
        if user is None or failure is not None:
            await _failed(request, db, email, failure or "credentials", user)
            # A little jitter on top of the equal argon2 cost: no answer is faster than another.
            await asyncio.sleep(random.uniform(0.0, 0.05))
            error = words.say("login_failed", lang)
            return _login_form(request, email=email, error=error, status=401)
        await config.throttle.succeeded(keys)
        token = await sessions.open_session(db, user, config.clock(), lifetimes(request))
        client = client_of(request)
        record(
            db, Action.LOGIN, at=config.clock(), actor=user.email, user_id=user.id, client=client
        )
        await db.commit()
        agency = await db.get(Agency, user.agency_id) if user.agency_id is not None else None
    target = _safe_next(request, str(form.get("next", "")))
    response = redirect(target or home_of(request, user.role, agency.code if agency else None))
    _set_session_cookie(request, response, token)
    response.del_cookie(PRE_COOKIE, path=config.mount)
    return response


async def _checked_user(
    db: AsyncSession, email: str, password: str
) -> tuple[AdminUser | None, str | None]:
    """The user the e-mail and password sign in, and why not ("disabled", "credentials")."""
    user = await accounts.find_user(db, email) if email else None
    usable = user is not None and user.disabled_at is None
    matches = await accounts.password_matches(
        user.password_hash if usable and user else None, password
    )
    if user is not None and not usable:
        return user, "disabled"
    return user, None if usable and matches else "credentials"


async def _failed(
    request: web.Request,
    db: AsyncSession,
    email: str,
    reason: str,
    user: AdminUser | None = None,
) -> None:
    """A refused sign-in, in the audit log."""
    config = config_of(request)
    details = {"reason": reason}
    user_id = user.id if user else None
    record(
        db,
        Action.LOGIN_FAILED,
        at=config.clock(),
        actor=email or "-",
        user_id=user_id,
        client=client_of(request),
        details=details,
    )
    await db.commit()


def _set_session_cookie(request: web.Request, response: web.StreamResponse, token: str) -> None:
    config = config_of(request)
    sessions.set_cookie(
        response,
        COOKIE,
        token,
        path=config.mount,
        secure=config.secure_cookies,
        max_age=int(lifetimes(request).absolute.total_seconds()),
    )


@allow(EVERYONE)
async def logout(request: web.Request) -> web.StreamResponse:
    viewer = signed_in(request)
    config = config_of(request)
    async with config.session_factory() as db:
        await sessions.close_session(db, viewer.session_id)
        record(
            db,
            Action.LOGOUT,
            at=config.clock(),
            actor=viewer.email,
            user_id=viewer.user_id,
            client=client_of(request),
        )
        await db.commit()
    response = redirect(url_for(request, "login"))
    response.del_cookie(COOKIE, path=config.mount)
    return response


@allow(EVERYONE)
async def password_page(request: web.Request) -> web.StreamResponse:
    done = request.query.get("done") == "1"
    return _password_form(request, error=None, done=done, status=200)


def _password_form(
    request: web.Request, *, error: str | None, done: bool, status: int
) -> web.Response:
    settings = config_of(request).settings
    return page(
        request,
        "password.html",
        {"error": error, "done": done, "min_length": settings.admin_password_min_length},
        status=status,
    )


@allow(EVERYONE)
async def change_password(request: web.Request) -> web.StreamResponse:
    viewer = signed_in(request)
    config = config_of(request)
    form = await request.post()
    limit = accounts.MAX_PASSWORD_LENGTH + 1
    async with config.session_factory() as db:
        user = await db.get(AdminUser, viewer.user_id)
        assert user is not None
        try:
            await accounts.change_password(
                user,
                str(form.get("current", ""))[:limit],
                str(form.get("new", ""))[:limit],
                str(form.get("repeat", ""))[:limit],
                config.settings.admin_password_min_length,
                now=config.clock,
            )
        except accounts.AccountError as problem:
            message = words.say(problem.key, viewer.language, **problem.params)
            return _password_form(request, error=message, done=False, status=400)
        # Every session of this user ends (a stolen one too); this browser gets a fresh one.
        await sessions.close_other_sessions(db, user.id, keep=None)
        token = await sessions.open_session(db, user, config.clock(), lifetimes(request))
        record(
            db,
            Action.PASSWORD_CHANGED,
            at=config.clock(),
            actor=user.email,
            user_id=user.id,
            client=client_of(request),
        )
        await db.commit()
    response = redirect(url_for(request, "password", {"done": "1"}))
    _set_session_cookie(request, response, token)
    return response


@allow(EVERYONE)
async def choose_language(request: web.Request) -> web.StreamResponse:
    viewer = signed_in(request)
    config = config_of(request)
    form = await request.post()
    lang = words.known_language(str(form.get("lang", "")))
    if lang is not None:
        async with config.session_factory() as db:
            user = await db.get(AdminUser, viewer.user_id)
            if user is not None:
                user.language = lang
                await db.commit()
        request[LANG] = lang
    back = _safe_next(request, str(form.get("back", ""))) or home_of(
        request, viewer.role, viewer.agency_code
    )
    return redirect(back)
