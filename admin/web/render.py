"""What a person gets back from the admin: pages in their language with our security headers,
short message pages (403, 404, errors), redirects, and the addresses of our pages."""

from __future__ import annotations

import builtins
import functools
import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

import aiohttp_jinja2
from aiohttp import web
from markupsafe import Markup, escape

from admin.web import words
from admin.web.keys import TEMPLATES, Viewer, config_of, lang_of, viewer_of
from core import language
from core.models import AdminRole

SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
}

# The navigation bar: (route name, message key, roles that see it). Pages join it as they land.
NAVIGATION = (
    ("overview", "nav_overview", {AdminRole.ADMIN, AdminRole.ANALYST}),
    ("agencies", "nav_agencies", {AdminRole.ADMIN, AdminRole.ANALYST}),
    ("ranking", "nav_ranking", {AdminRole.ADMIN, AdminRole.ANALYST}),
    ("my_agency", "nav_my_agency", {AdminRole.AGENCY}),
    ("methodology", "nav_methodology", set(AdminRole)),
    ("responses", "nav_responses", {AdminRole.ADMIN, AdminRole.ANALYST, AdminRole.AGENCY}),
    ("imports", "nav_imports", {AdminRole.ADMIN}),
    ("complaints", "nav_complaints", set(AdminRole)),
    ("summaries", "nav_summaries", set(AdminRole)),
    ("staff_chats", "nav_staff_chats", {AdminRole.ADMIN, AdminRole.AGENCY}),
    ("datasets", "nav_datasets", set(AdminRole)),
    ("users", "nav_users", {AdminRole.ADMIN}),
    ("apikeys", "nav_apikeys", {AdminRole.ADMIN}),
    ("audit", "nav_audit", {AdminRole.ADMIN}),
)

# The menu in three groups, so that every item fits on a laptop and wraps on a phone.
NAV_GROUPS = (
    ("figures", ("overview", "agencies", "ranking", "my_agency", "methodology")),
    ("citizens", ("responses", "complaints", "summaries", "datasets")),
    ("administration", ("imports", "staff_chats", "users", "apikeys", "audit")),
)


def url_for(
    request: web.Request, name: str, query: Mapping[str, Any] | None = None, **parts: str
) -> str:
    """The address of a named admin route (under the mount point), with an optional query."""
    url = request.app.router[name].url_for(**parts)
    if query:
        url = url.with_query({k: str(v) for k, v in query.items() if v not in (None, "")})
    return str(url)


def _navigation(request: web.Request, viewer: Viewer | None) -> list[dict[str, Any]]:
    if viewer is None:
        return []
    items = []
    current = request.match_info.route.name
    for name, key, roles in NAVIGATION:
        if viewer.role not in roles:
            continue
        if name == "my_agency":
            if viewer.agency_code is None:
                continue
            href = url_for(request, "agency", code=viewer.agency_code)
            active = current in ("agency", "agency_report")
        else:
            href = url_for(request, name)
            active = current == name or (name == "agencies" and current == "agency")
        items.append(
            {
                "name": name,
                "href": href,
                "label": words.say(key, viewer.language),
                "active": active,
            }
        )
    return items


def _grouped(items: list[dict[str, Any]], lang: str) -> list[dict[str, Any]]:
    groups = []
    for group, names in NAV_GROUPS:
        members = [item for item in items if item["name"] in names]
        if members:
            label = words.say(f"nav_group_{group}", lang)
            groups.append({"key": group, "label": label, "items": members})
    return groups


def page(
    request: web.Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    status: int = 200,
) -> web.Response:
    config = config_of(request)
    viewer = viewer_of(request)
    lang = lang_of(request)
    nav = _navigation(request, viewer)
    base: dict[str, Any] = {
        "lang": lang,
        "t": functools.partial(_say_in, lang),
        "tn": functools.partial(_count_in, lang),
        "static": config.static_urls.get,
        "viewer": viewer,
        "csrf": viewer.csrf if viewer else request.get("qanagat_admin_pre_csrf", ""),
        "nav": nav,
        "nav_groups": _grouped(nav, lang),
        "url": functools.partial(url_for, request),
        "here": request.path_qs,
        "languages": [
            {"code": code, "name": name, "current": code == lang}
            for code, name in words.LANGUAGE_NAMES.items()
        ],
        "role_name": lambda role: words.say(f"role_{role}", lang),
        "fmt": Formats(lang),
    }
    html = aiohttp_jinja2.render_string(
        template, request, {**base, **(context or {})}, app_key=TEMPLATES
    )
    response = web.Response(text=html, content_type="text/html", status=status)
    response.headers.update(SECURITY_HEADERS)
    return response


def _count_in(lang: str, key: str, count: int, **params: Any) -> str:
    return words.say_count(key, count, lang, **params)


def fragment(
    request: web.Request, template: str, context: Mapping[str, Any], key: tuple[Any, ...]
) -> Markup:
    """A part of a page that is the same for everyone who may see it: rendered once per `key`
    (plus the template and the language), which must therefore determine all of `context`. The
    part sees no viewer, CSRF token or address of the page (rendering one that names them
    fails), so nothing personal can be kept in it."""
    lang = lang_of(request)
    parts = config_of(request).fragments.parts
    full_key = (template, lang, key)
    found = parts.get(full_key)
    if found is None:
        base: dict[str, Any] = {
            "lang": lang,
            "t": functools.partial(_say_in, lang),
            "tn": functools.partial(_count_in, lang),
            "url": functools.partial(url_for, request),
            "fmt": Formats(lang),
        }
        # the output of an autoescaping template: already escaped
        found = Markup(  # noqa: S704
            aiohttp_jinja2.render_string(template, request, {**base, **context}, app_key=TEMPLATES)
        )
        parts[full_key] = found
    return found


def table_part(
    request: web.Request, table: Any, exports: Mapping[str, str], min_sample: int
) -> Markup:
    """A data table (macros.html `data_table`) as a part rendered once per rows and links."""
    context = {"table": table, "exports": exports, "min_sample": min_sample}
    return fragment(
        request,
        "data_table.html",
        context,
        (repr(table), tuple(sorted(exports.items())), min_sample),
    )


def message_page(
    request: web.Request, key: str, status: int, *, title_key: str | None = None
) -> web.Response:
    lang = lang_of(request)
    context = {
        "heading": words.say(title_key or f"status_{status}", lang),
        "message": words.say(key, lang),
        "status": status,
    }
    return page(request, "message.html", context, status=status)


def redirect(location: str, status: int = 303) -> web.Response:
    response = web.Response(status=status, headers={"Location": location})
    response.headers.update(SECURITY_HEADERS)
    return response


def login_redirect(request: web.Request) -> web.Response:
    target = request.path_qs if request.method in ("GET", "HEAD") else ""
    location = url_for(request, "login")
    if target:
        location += "?" + urlencode({"next": target})
    return redirect(location)


_QUOTED_CODE = re.compile(r"`([^`<>]+)`")


def _say_in(lang: str, key: str, **params: Any) -> Markup:
    """A message for a page; a command or name quoted in `backticks` shows as code (in Latin
    letters whatever the language), the rest escaped."""
    escaped = str(escape(words.say(key, lang, **params)))
    return Markup(_QUOTED_CODE.sub(r"<code>\1</code>", escaped))  # noqa: S704 (escaped above)


class Formats:
    """Numbers as each language writes them (Babel's CLDR data, see core.language):
    1 234 and 73,4 % (kk, ru); 1,234 and 73.4 % (en)."""

    def __init__(self, lang: str) -> None:
        self.lang = lang

    def _decimal(self, value: float) -> str:
        return language.fixed(value, self.lang)

    def int(self, value: float | None) -> str:
        return "—" if value is None else language.number(round(value), self.lang, digits=0)

    def day(self, value: date | None) -> str:
        """A date as the language writes it: 7 дек. 2026 г."""
        return "—" if value is None else language.day(value, self.lang, "medium")

    def days(self, first: date, last: date) -> str:
        """A span of days: 23–29 нояб. 2026 г."""
        return language.days(first, last, self.lang)

    def datetime(self, value: datetime | None) -> str:
        """A stored time on Almaty's clock, as the language writes it: 7 дек. 2026 г., 15:05."""
        return "—" if value is None else language.moment(value, self.lang)

    def share(self, value: float | None) -> str:
        return "—" if value is None else self._decimal(100 * value) + "\u00a0%"

    def points(self, value: float | None) -> str:
        """A score on the 0-100 scale, one decimal: 73,4 (kk, ru), 73.4 (en)."""
        return "—" if value is None else self._decimal(value)

    def points_interval(self, bounds: tuple[float, float] | None) -> str:
        if bounds is None:
            return "—"
        low, high = (self._decimal(b) for b in bounds)
        return f"{low}–{high}"

    def change(self, value: builtins.int | None) -> str:
        """A rank change: +2 (climbs), −1 (falls), 0."""
        if value is None:
            return "—"
        return f"+{value}" if value > 0 else ("0" if value == 0 else f"\u2212{-value}")

    def interval(self, bounds: tuple[float, float] | None) -> str:
        if bounds is None:
            return "—"
        low, high = (self._decimal(100 * b) for b in bounds)
        return f"{low}–{high}\u00a0%"
