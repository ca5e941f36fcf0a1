"""What a citizen gets back: pages in their language with our security headers, one-message
pages, redirects, the addresses of our pages, posted forms read safely, and the guard that turns
any failure into a polite page."""

from __future__ import annotations

import enum
import functools
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote

import aiohttp_jinja2
from aiohttp import web
from multidict import MultiDict

from bot import messages
from bot.engine.flow import InvalidAnswer
from bot.web.keys import SEALS_KEY, TEMPLATES_KEY, Seals
from bot.web.visits import Visit, csrf_ok, remember, response_ref, visit_of

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

FORM_LIMIT = 64 * 1024  # the longest allowed answer (4000 characters) fits, percent-encoded
FORM_FIELDS = 64
# Control characters other than tab and line breaks mean nothing in an answer and PostgreSQL
# refuses a NUL outright: they are dropped. A number of more than 18 digits fits no question
# (Python refuses to read one of thousands): the answer is refused as too long.
_UNREADABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_HUGE_NUMBER = re.compile(r"\s*[+-]?\d{19,}\s*")

SECURITY_HEADERS = {
    # Survey pages are personal: never cached, never leaked through a Referer header.
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
        "form-action 'self'"
    ),
}

REFUSAL_STATUS = {
    "invitation_unknown": 404,
    "invitation_expired": 410,
    "invitation_used": 410,
    "office_code_stale": 410,
    "walk_in_limit": 429,
}


# Words -------------------------------------------------------------------------------------


def say(key: str, lang: str, params: Mapping[str, Any] | None = None) -> str:
    """A message (a template that does not fit its parameters shows as written); nothing for
    a key the catalogue does not have, which a page's sealed error may name."""
    if key not in messages.WORDS:
        return ""
    return messages.text(key, lang, **dict(params or {}))


def explain(error: InvalidAnswer | None, lang: str) -> str | None:
    """Why the last answer was not taken, in the citizen's words; None when it was."""
    return say(error.reason, lang, error.params) if error is not None else None


def in_language(texts: Mapping[str, str], lang: str) -> str:
    """A survey's own text (title, intro, thanks) in `lang`."""
    return texts.get(lang) or texts["ru"]


# Addresses ---------------------------------------------------------------------------------


def link_path(token: str) -> str:
    return f"/s/{quote(token, safe='')}"


def office_path(code: str) -> str:
    return f"/o/{quote(code, safe='')}"


def survey_path(seals: Seals, response_id: int) -> str:
    return f"/r/{quote(response_ref(seals, response_id), safe='')}"


# Responses ---------------------------------------------------------------------------------


def page(
    request: web.Request,
    visit: Visit,
    template: str,
    context: Mapping[str, Any] | None = None,
    status: int = 200,
) -> web.Response:
    seals = request.app[SEALS_KEY]
    base: dict[str, Any] = {
        "lang": visit.lang,
        "t": functools.partial(_say_in, visit.lang),
        "static": seals.static_urls.get,
        "languages": [
            {
                "code": code,
                "name": name,
                "url": str(request.rel_url.with_query(lang=code)),
                "current": code == visit.lang,
            }
            for code, name in messages.LANGUAGE_NAMES.items()
        ],
        "title": messages.text(_brand(request), visit.lang),
        "brand": messages.text(_brand(request), visit.lang),
    }
    html = aiohttp_jinja2.render_string(
        template, request, {**base, **(context or {})}, app_key=TEMPLATES_KEY
    )
    response = web.Response(text=html, content_type="text/html", status=status)
    response.headers.update(SECURITY_HEADERS)
    remember(request, response, visit)
    return response


def _brand(request: web.Request) -> str:
    """The header names what is rated here: a service, or an open data set (/d, /dr/...)."""
    path = request.path
    return (
        "web_dataset_brand"
        if path == "/d" or path.startswith(("/d/", "/dr/"))
        else "web_page_title"
    )


def _say_in(lang: str, key: str, **params: Any) -> str:
    return say(key, lang, params)


def message_page(
    request: web.Request,
    visit: Visit,
    key: str,
    status: int,
    params: Mapping[str, Any] | None = None,
    back: str | None = None,
) -> web.Response:
    """A short page with one message (and maybe a way back): refusals, lost sessions, errors."""
    tone = "info" if status < 400 else "problem"
    context = {"message": say(key, visit.lang, params), "back": back, "tone": tone}
    return page(request, visit, "message.html", context, status=status)


def refusal_page(request: web.Request, visit: Visit, reason: str) -> web.Response:
    """Why a link or an office code opens nothing: unknown (404), expired or used (410)."""
    return message_page(request, visit, reason, REFUSAL_STATUS.get(reason, 404))


def redirect(request: web.Request, visit: Visit, location: str) -> web.Response:
    response = web.Response(status=303, headers={"Location": location, **SECURITY_HEADERS})
    remember(request, response, visit)
    return response


def json_reply(body: Mapping[str, Any], status: int) -> web.Response:
    response = web.json_response(dict(body), status=status)
    response.headers.update(SECURITY_HEADERS)
    return response


def guarded(handler: Handler) -> Handler:
    """Whatever fails inside, the citizen gets a polite page in their language, never a
    traceback; the error goes to the log. Answers already given are stored."""

    @functools.wraps(handler)
    async def wrapper(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPException:
            raise
        except Exception:
            log.exception("web channel: %s %s failed", request.method, request.path)
            try:
                return message_page(request, visit_of(request), "try_again_later", 503)
            except Exception:
                log.exception("web channel: the apology page failed too")
                return web.Response(status=503, text="Service temporarily unavailable")

    return wrapper


async def wrong_method(request: web.Request) -> web.StreamResponse:
    response = message_page(request, visit_of(request), "web_bad_request", 405)
    allowed = [m for m in ("GET", "HEAD", "POST") if _allows(request, m)]
    response.headers["Allow"] = ", ".join(allowed)
    return response


def _allows(request: web.Request, method: str) -> bool:
    resource = request.match_info.route.resource
    return resource is not None and any(route.method == method for route in resource)


# Pages of the site itself -------------------------------------------------------------------

# The admin and the API answer their own unknown paths (in their language, or in JSON).
OTHER_SIDES = ("/admin", "/api")
FAVICON = Path(__file__).parent / "static" / "favicon.svg"


@web.middleware
async def not_found_page(request: web.Request, handler: Handler) -> web.StreamResponse:
    """An unknown address on the citizen side (`/s/` without a token, a mistyped path) gets a
    page in the visitor's language, built for a phone, instead of aiohttp's bare text."""
    try:
        return await handler(request)
    except web.HTTPNotFound:
        if request.path.startswith(OTHER_SIDES) or request.method not in ("GET", "HEAD"):
            raise
        return message_page(request, visit_of(request), "web_lost", 404)


async def home_page(request: web.Request) -> web.StreamResponse:
    """GET /: what the site is for and how to get to a survey (there is nothing to pick here)."""
    visit = visit_of(request)
    datasets = any(resource.canonical == "/d" for resource in request.app.router.resources())
    return page(request, visit, "home.html", {"datasets": datasets})


async def favicon(request: web.Request) -> web.StreamResponse:
    response = web.FileResponse(FAVICON, headers={"Content-Type": "image/svg+xml"})
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


# Posted forms ------------------------------------------------------------------------------


class FormProblem(enum.Enum):
    BAD = "bad"  # not a form of ours, or not signed for this visitor and this form
    TOO_LARGE = "too_large"


async def read_form(request: web.Request, visit: Visit, scope: str) -> MultiDict[str] | FormProblem:
    """The posted form if it carries this visitor's CSRF token for `scope`, or why it can't be
    taken. Only urlencoded forms: our pages send nothing else, and multipart would write uploads
    to disk. Bad UTF-8 becomes U+FFFD, not an error."""
    if request.content_type not in ("", "application/x-www-form-urlencoded"):
        return FormProblem.BAD
    body = await read_body(request)
    if body is None:
        return FormProblem.TOO_LARGE
    try:
        pairs = parse_qsl(
            body.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=FORM_FIELDS
        )
    except ValueError:
        return FormProblem.BAD
    if any(_HUGE_NUMBER.fullmatch(value) for _, value in pairs):
        return FormProblem.TOO_LARGE
    form = MultiDict((name, _UNREADABLE.sub("", value)) for name, value in pairs)
    if not csrf_ok(request.app[SEALS_KEY], scope, visit.key, form.get("csrf", "")):
        return FormProblem.BAD
    return form


async def read_body(request: web.Request) -> bytes | None:
    """The request body, or None when it is larger than any honest form of ours."""
    if (request.content_length or 0) > FORM_LIMIT:
        return None
    body = bytearray()
    async for chunk in request.content.iter_chunked(16 * 1024):
        body.extend(chunk)
        if len(body) > FORM_LIMIT:
            return None
    return bytes(body)
