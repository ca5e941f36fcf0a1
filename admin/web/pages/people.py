"""For administrators: who may sign in, and the audit log of what was done."""

from __future__ import annotations

import json

from aiohttp import web

from admin import accounts
from admin.audit import events_page
from admin.web import words
from admin.web.access import ADMINS, add_route, allow
from admin.web.keys import config_of, lang_of
from admin.web.render import page
from admin.web.tables import Column, Table, export_links, page_or_export

PER_PAGE = 50


def setup(app: web.Application) -> None:
    add_route(app, "GET", "/users", user_list, name="users")
    add_route(app, "GET", "/audit", audit_log, name="audit")


@allow(ADMINS)
async def user_list(request: web.Request) -> web.StreamResponse:
    lang = lang_of(request)
    async with config_of(request).session_factory() as db:
        users = await accounts.list_users(db)
    table = Table(
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
            }
            for u, code in users
        ],
    )

    def render() -> web.StreamResponse:
        return page(
            request, "users.html", {"table": table, "exports": export_links(request, table)}
        )

    return await page_or_export(request, [table], render)


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
    table = Table(
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
