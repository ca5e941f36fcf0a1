"""For administrators: who may sign in (list, add, change role or agency, disable, enable,
set a new password), and the audit log of what was done.

Every change goes through admin.accounts, the code `qanagat users` runs (argon2id hashes, the
same rules), and is written to the audit log in the same transaction as the change itself.
An administrator cannot disable, re-role or reset their own account here: the Password page is
for their own password, and nobody locks the last administrator out by a slip of the mouse."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from admin import accounts
from admin.audit import Action, events_page, record
from admin.web import words
from admin.web.access import ADMINS, add_route, allow
from admin.web.forms import clean, form_text
from admin.web.keys import Viewer, client_of, config_of, lang_of, signed_in
from admin.web.render import page, redirect, url_for
from admin.web.sessions import close_other_sessions
from admin.web.tables import Column, Table, export_links, page_or_export
from core.models import AdminRole, AdminUser, Agency, AuditEvent

PER_PAGE = 50
MAX_FIELD = 300  # longer than any e-mail or code: what is cut off cannot be valid anyway
# The notices a change leaves on the users page (?done=KEY); anything else shows none.
DONE = ("user_added", "user_changed", "user_disabled", "user_enabled", "user_password_set")


def setup(app: web.Application) -> None:
    add_route(app, "GET", "/users", user_list, name="users")
    add_route(app, "POST", "/users", user_add, name="users_add")
    add_route(app, "POST", "/users/role", user_role, name="users_role")
    add_route(app, "POST", "/users/disable", user_disable, name="users_disable")
    add_route(app, "POST", "/users/enable", user_enable, name="users_enable")
    add_route(app, "POST", "/users/password", user_password, name="users_password")
    add_route(app, "GET", "/audit", audit_log, name="audit")


def _field(form: MultiDictProxy[Any], name: str) -> str:
    return form_text(form, name, MAX_FIELD)


def _passwords(form: MultiDictProxy[Any]) -> tuple[str, str]:
    """The new password and its repetition, unstripped (spaces may be part of a passphrase);
    one that is not usable text reads as empty and is refused as too short."""
    limit = accounts.MAX_PASSWORD_LENGTH + 1

    def read(name: str) -> str:
        value = form.get(name, "")
        return value[:limit] if isinstance(value, str) and clean(value, limit) else ""

    return read("password"), read("repeat")


def _role(text: str) -> AdminRole | None:
    try:
        return AdminRole(text)
    except ValueError:
        return None


async def _agencies(db: AsyncSession, lang: str) -> list[dict[str, str]]:
    agencies = await db.scalars(select(Agency).order_by(Agency.code))
    return [{"code": a.code, "name": a.name(lang)} for a in agencies]


@allow(ADMINS)
async def user_list(request: web.Request) -> web.StreamResponse:
    done = request.query.get("done", "")
    return await _users_page(
        request,
        notice=done if done in DONE else None,
        chosen=clean(request.query.get("user", ""), MAX_FIELD),
    )


async def _users_page(
    request: web.Request,
    *,
    notice: str | None = None,
    error: str | None = None,
    chosen: str = "",
    draft: dict[str, str] | None = None,
    status: int = 200,
) -> web.StreamResponse:
    lang = lang_of(request)
    settings = config_of(request).settings
    async with config_of(request).session_factory() as db:
        users = await accounts.list_users(db)
        agencies = await _agencies(db, lang)
    table = _users_table(request, users)
    wanted = accounts.normalise_email(chosen)
    named = accounts.normalise_email(clean(request.query.get("email", ""), MAX_FIELD))
    managed = next(({"user": u, "agency": c or ""} for u, c in users if u.email == wanted), None)

    def render() -> web.StreamResponse:
        return page(
            request,
            "users.html",
            {
                "table": table,
                "exports": export_links(request, table),
                # a notice names a user who exists
                "notice": notice if any(u.email == named for u, _c in users) else None,
                "notice_email": named,
                "error": error,
                "managed": managed,
                "agencies": agencies,
                "roles": [role.value for role in AdminRole],
                "draft": draft or {"email": "", "role": "analyst", "agency": "", "language": lang},
                "min_length": settings.admin_password_min_length,
            },
            status=status,
        )

    return await page_or_export(request, [table], render)


def _users_table(request: web.Request, users: list[tuple[AdminUser, str | None]]) -> Table:
    lang = lang_of(request)
    return Table(
        "users",
        "table_users",
        [
            Column("email", "col_email"),
            Column("role", "col_role"),
            Column("agency", "col_agency_code"),
            Column("language", "col_language"),
            Column("created", "col_created", "datetime"),
            Column("password_changed", "col_password_changed", "datetime"),
            Column("disabled", "col_disabled", "datetime"),
        ],
        [
            {
                "email": u.email,
                "role": words.say(f"role_{u.role.value}", lang),
                "agency": code or "",
                "language": words.LANGUAGE_NAMES.get(u.language, u.language),
                "created": u.created_at,
                "password_changed": u.password_changed_at,
                "disabled": u.disabled_at,
                "href": url_for(request, "users", {"user": u.email}) + "#manage",
            }
            for u, code in users
        ],
        links={"email": "href"},
    )


def _done(request: web.Request, key: str, email: str) -> web.Response:
    return redirect(url_for(request, "users", {"done": key, "email": email, "user": email}))


Change = Callable[[AsyncSession, Viewer, MultiDictProxy[Any]], Awaitable[tuple[str, str]]]


async def _apply(request: web.Request, change: Change, draft: bool = False) -> web.StreamResponse:
    """Run one change of a user in one transaction with its audit record; a refusal shows the
    users page again with the reason in the administrator's language."""
    viewer = signed_in(request)
    form = await request.post()
    try:
        async with config_of(request).session_factory() as db:
            done, email = await change(db, viewer, form)
            await db.commit()
    except accounts.AccountError as problem:
        values = None
        if draft:
            values = {name: _field(form, name) for name in ("email", "role", "agency", "language")}
        return await _users_page(
            request,
            error=words.say(problem.key, viewer.language, **problem.params),
            chosen="" if draft else _field(form, "email"),
            draft=values,
            status=400,
        )
    return _done(request, done, email)


def _audit(
    request: web.Request,
    db: AsyncSession,
    viewer: Viewer,
    action: Action,
    user: AdminUser,
    **details: Any,
) -> None:
    record(
        db,
        action,
        at=config_of(request).clock(),
        actor=viewer.email,
        user_id=user.id,
        client=client_of(request),
        details={"email": user.email, **details},
    )


async def _other_user(db: AsyncSession, viewer: Viewer, email: str) -> AdminUser:
    """The user a change is about, never the administrator making it."""
    user = await accounts.find_user(db, email) if email else None
    if user is None:
        raise accounts.AccountError("user_unknown")
    if user.id == viewer.user_id:
        raise accounts.AccountError("user_own_account")
    return user


@allow(ADMINS)
async def user_add(request: web.Request) -> web.StreamResponse:
    config = config_of(request)

    async def add(db: AsyncSession, viewer: Viewer, form: MultiDictProxy[Any]) -> tuple[str, str]:
        role = _role(_field(form, "role"))
        if role is None:
            raise accounts.AccountError("role_unknown")
        password, repeat = _passwords(form)
        if password != repeat:
            raise accounts.AccountError("password_mismatch")
        # The agency select is on the form whatever the role: it counts for agency users only.
        agency = (_field(form, "agency") or None) if role is AdminRole.AGENCY else None
        user = await accounts.add_user(
            db,
            accounts.NewUser(_field(form, "email"), role, agency, _field(form, "language")),
            password,
            config.settings.admin_password_min_length,
            now=config.clock,
        )
        _audit(request, db, viewer, Action.USER_ADDED, user, role=role.value, agency=agency)
        return "user_added", user.email

    return await _apply(request, add, draft=True)


@allow(ADMINS)
async def user_role(request: web.Request) -> web.StreamResponse:
    async def change(
        db: AsyncSession, viewer: Viewer, form: MultiDictProxy[Any]
    ) -> tuple[str, str]:
        user = await _other_user(db, viewer, _field(form, "email"))
        role = _role(_field(form, "role"))
        if role is None:
            raise accounts.AccountError("role_unknown")
        agency = _field(form, "agency") if role is AdminRole.AGENCY else ""
        before = user.role.value
        await accounts.change_role(db, user.email, role, agency or None)
        _audit(
            request,
            db,
            viewer,
            Action.USER_CHANGED,
            user,
            role=role.value,
            agency=agency or None,
            was=before,
        )
        return "user_changed", user.email

    return await _apply(request, change)


@allow(ADMINS)
async def user_disable(request: web.Request) -> web.StreamResponse:
    config = config_of(request)

    async def disable(
        db: AsyncSession, viewer: Viewer, form: MultiDictProxy[Any]
    ) -> tuple[str, str]:
        user = await _other_user(db, viewer, _field(form, "email"))
        await accounts.disable_user(db, user.email, now=config.clock)
        await close_other_sessions(db, user.id, keep=None)
        _audit(request, db, viewer, Action.USER_DISABLED, user)
        return "user_disabled", user.email

    return await _apply(request, disable)


@allow(ADMINS)
async def user_enable(request: web.Request) -> web.StreamResponse:
    async def enable(
        db: AsyncSession, viewer: Viewer, form: MultiDictProxy[Any]
    ) -> tuple[str, str]:
        user = await _other_user(db, viewer, _field(form, "email"))
        await accounts.enable_user(db, user.email)
        _audit(request, db, viewer, Action.USER_ENABLED, user)
        return "user_enabled", user.email

    return await _apply(request, enable)


@allow(ADMINS)
async def user_password(request: web.Request) -> web.StreamResponse:
    """A new password for someone who lost theirs, typed by the administrator and handed over
    by another channel; the user's open sessions end, and a disabled user is enabled (as
    `qanagat users password`)."""
    config = config_of(request)

    async def reset(db: AsyncSession, viewer: Viewer, form: MultiDictProxy[Any]) -> tuple[str, str]:
        user = await _other_user(db, viewer, _field(form, "email"))
        password, repeat = _passwords(form)
        if password != repeat:
            raise accounts.AccountError("password_mismatch")
        await accounts.reset_password(
            db, user.email, password, config.settings.admin_password_min_length, now=config.clock
        )
        await close_other_sessions(db, user.id, keep=None)
        _audit(request, db, viewer, Action.PASSWORD_CHANGED, user, by="administrator")
        return "user_password_set", user.email

    return await _apply(request, reset)


@allow(ADMINS)
async def audit_log(request: web.Request) -> web.StreamResponse:
    lang = lang_of(request)
    try:
        number = max(1, int(request.query.get("page", "1")))
    except ValueError:
        number = 1
    exporting = "export" in request.query
    async with config_of(request).session_factory() as db:
        # An export holds the whole log (up to a generous cap), the page one page of it.
        events, total = await events_page(
            db, 1 if exporting else number, 100_000 if exporting else PER_PAGE
        )
    pages = max(1, -(-total // PER_PAGE))
    table = _audit_table(events, lang)

    def render() -> web.StreamResponse:
        return page(
            request,
            "audit.html",
            {
                "table": table,
                "exports": export_links(request, table),
                "page": number,
                "pages": pages,
                "total": total,
            },
        )

    return await page_or_export(request, [table], render)


def _details(details: object) -> str:
    if not isinstance(details, dict) or not details:
        return ""

    def shown(value: object) -> str:
        if isinstance(value, str):
            return value
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)

    return ", ".join(f"{key}={shown(value)}" for key, value in sorted(details.items()))


def _audit_table(events: list[AuditEvent], lang: str) -> Table:
    return Table(
        "audit",
        "table_audit",
        [
            Column("at", "col_when", "datetime"),
            Column("actor", "col_who"),
            Column("action", "col_action"),
            Column("client", "col_client"),
            Column("details", "col_details"),
        ],
        [
            {
                "at": e.at,
                "actor": e.actor,
                "action": words.say(f"action_{e.action}", lang),
                "client": e.client or "",
                "details": _details(e.details),
            }
            for e in events
        ],
    )
