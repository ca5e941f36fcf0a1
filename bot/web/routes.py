"""The mobile web channel: the survey as plain server-rendered pages, for citizens without
Telegram, and inside Telegram as a Mini App.

A thin adapter, like the Telegram one: the engine decides what to ask and whether an answer is
valid, `ResponseStore` keeps every answer when it is given, and these handlers only turn forms
into engine calls and steps into HTML. Every page is POST/redirect/GET, so reloading never
answers twice, and no input, however odd, ends in a 500 or a traceback.

    GET  /s/{token}      invitation link: open or resume its response, redirect to /r/{ref}
    GET  /o/{code}       office QR code: pick the service received
    POST /o/{code}       start a walk-in response, redirect to /r/{ref}
    GET  /r/{ref}        the current question, or the thank-you page
    POST /r/{ref}        answer (or skip) the current question, redirect to GET /r/{ref}
    GET  /app            Telegram Mini App entry (a little JS posts the init data)
    POST /app/session    verify the init data, set the respondent cookie, say where to go
    GET  /app/open       a verified Mini App user with nothing to open
"""

from __future__ import annotations

import base64
import binascii
import enum
import functools
import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote

import aiohttp_jinja2
import jinja2
from aiohttp import web
from multidict import MultiDict
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import messages
from bot.engine.definition import Question, QuestionType, SurveyDefinition
from bot.engine.flow import Ask, InvalidAnswer, RawValue, complaint_requested
from bot.opening import OfficeChoice, Refused, SurveyDesk
from bot.web import miniapp
from core import invitations
from core.clock import utcnow
from core.identity import Signer, respondent_key
from core.invitations import InvitationProblem
from core.models import Channel, Respondent, Response, ResponseStatus
from core.responses import ResponseStore
from core.settings import Settings

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
TEMPLATE_DIR = HERE / "templates"
STATIC_DIR = HERE / "static"
STATIC_PREFIX = "/static/web"

ID_COOKIE = "qanagat_id"
LANG_COOKIE = "qanagat_lang"
ID_COOKIE_AGE = timedelta(days=30)  # well past an invitation's life, so a survey can be resumed
LANG_COOKIE_AGE = timedelta(days=365)

FORM_LIMIT = 64 * 1024  # the longest allowed answer (4000 characters) fits, percent-encoded
FORM_FIELDS = 64
ERROR_TTL_S = 600  # a refusal shown after a redirect; an old link no longer shows it
WALK_INS_PER_HOUR = 5  # per respondent; walk-ins have no service event to bind them

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

REFUSAL_STATUS = {"invitation_unknown": 404, "invitation_expired": 410, "invitation_used": 410}


@dataclass(frozen=True)
class Seals:
    """Signers for everything a browser carries back to us, each for one purpose only."""

    secret: bytes
    respondents: Signer  # the respondent cookie
    refs: Signer  # response references in URLs
    forms: Signer  # CSRF tokens
    errors: Signer  # refusal reasons carried across a redirect
    secure_cookies: bool
    static_urls: dict[str, str]


SETTINGS_KEY = web.AppKey("qanagat_web_settings", Settings)
SESSIONS_KEY = web.AppKey[async_sessionmaker[AsyncSession]]("qanagat_web_sessions")
DESK_KEY = web.AppKey("qanagat_web_desk", SurveyDesk)
SEALS_KEY = web.AppKey("qanagat_web_seals", Seals)
TEMPLATES_KEY = web.AppKey("qanagat_web_templates", jinja2.Environment)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def setup_web_channel(
    app: web.Application,
    *,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    desk: SurveyDesk,
) -> None:
    """Mount the citizen web pages, their templates and static files on `app`."""
    secret = settings.secret_bytes()
    app[SETTINGS_KEY] = settings
    app[SESSIONS_KEY] = session_factory
    app[DESK_KEY] = desk
    app[SEALS_KEY] = Seals(
        secret=secret,
        respondents=Signer(secret, "web/respondent"),
        refs=Signer(secret, "web/response-ref"),
        forms=Signer(secret, "web/form"),
        errors=Signer(secret, "web/refusal"),
        secure_cookies=settings.public_url.startswith("https"),
        static_urls=_static_urls(),
    )
    # Our own key: the admin side may set up a Jinja environment of its own on the same app.
    aiohttp_jinja2.setup(
        app,
        app_key=TEMPLATES_KEY,
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        default_helpers=False,
    )
    _route(app, "/s/{token}", get=open_link)
    _route(app, "/o/{code}", get=office_page, post=start_walk_in)
    _route(app, "/r/{ref}", get=question_page, post=answer)
    _route(app, "/app", get=miniapp_page)
    _route(app, "/app/session", post=miniapp_session)
    _route(app, "/app/open", get=miniapp_nothing_to_open)
    app.router.add_static(STATIC_PREFIX, STATIC_DIR, name="qanagat_web_static")


def _route(
    app: web.Application, path: str, *, get: Handler | None = None, post: Handler | None = None
) -> None:
    resource = app.router.add_resource(path)
    if get is not None:
        resource.add_route("GET", guarded(get))
        resource.add_route("HEAD", guarded(get))
    if post is not None:
        resource.add_route("POST", guarded(post))
    # Any other method gets a page in the citizen's language instead of aiohttp's bare 405.
    resource.add_route("*", guarded(wrong_method))


def _static_urls() -> dict[str, str]:
    """File name -> URL with a content hash, so a new deploy is never hidden by a cache."""
    urls: dict[str, str] = {}
    for path in sorted(STATIC_DIR.iterdir()):
        if path.is_file():
            digest = hashlib.sha256(path.read_bytes()).hexdigest()[:10]
            urls[path.name] = f"{STATIC_PREFIX}/{path.name}?v={digest}"
    return urls


# The visitor: language and pseudonymous identity -----------------------------------------


@dataclass(frozen=True)
class Visit:
    lang: str
    lang_chosen: bool  # ?lang= in this request: remember it and apply it to the open survey
    key: str  # the respondent key (a pseudonym)
    channel: Channel  # WEB, or MINI_APP once Telegram vouched for the person
    new_identity: bool  # no valid cookie came: this key is fresh and must be set


def visit_of(request: web.Request) -> Visit:
    seals = request.app[SEALS_KEY]
    asked = request.query.get("lang", "")
    chosen = asked if asked in messages.LANGUAGES else None
    lang = (
        chosen
        or _known_language(request.cookies.get(LANG_COOKIE))
        or preferred_language(request.headers.get("Accept-Language", ""))
        or messages.DEFAULT_LANGUAGE
    )
    found = _identity(seals, request.cookies.get(ID_COOKIE))
    if found is not None:
        channel, key = found
        return Visit(lang, chosen is not None, key, channel, new_identity=False)
    # 128 random bits behind the HMAC: the key says nothing about the browser it lives in.
    key = respondent_key(seals.secret, "web", secrets.token_hex(16))
    return Visit(lang, chosen is not None, key, Channel.WEB, new_identity=True)


def _known_language(value: str | None) -> str | None:
    return value if value in messages.LANGUAGES else None


def preferred_language(header: str) -> str | None:
    """The first language we speak in an Accept-Language header, by its q-values."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")[:16]):
        tag, _, params = part.partition(";")
        weight = 1.0
        name, _, value = params.strip().partition("=")
        if name.strip() == "q":
            try:
                weight = float(value)
            except ValueError:
                continue
        lang = messages.pick_language(tag)
        if lang is not None and weight > 0:
            ranked.append((-weight, index, lang))
    return min(ranked)[2] if ranked else None


def _identity(seals: Seals, cookie: str | None) -> tuple[Channel, str] | None:
    value = unsign(seals.respondents, cookie)
    if value is None:
        return None
    channel, _, key = value.partition(":")
    if channel not in (Channel.WEB, Channel.MINI_APP):
        return None
    return Channel(channel), key


def remember(request: web.Request, response: web.StreamResponse, visit: Visit) -> None:
    """Set the cookies a visit needs: a new identity, a language just chosen."""
    seals = request.app[SEALS_KEY]
    if visit.new_identity:
        set_identity(response, seals, visit.channel, visit.key)
    if visit.lang_chosen:
        _set_cookie(response, seals, LANG_COOKIE, visit.lang, LANG_COOKIE_AGE)


def set_identity(response: web.StreamResponse, seals: Seals, channel: Channel, key: str) -> None:
    signed = seals.respondents.sign(f"{channel.value}:{key}")
    _set_cookie(response, seals, ID_COOKIE, signed, ID_COOKIE_AGE)


def _set_cookie(
    response: web.StreamResponse, seals: Seals, name: str, value: str, age: timedelta
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=int(age.total_seconds()),
        path="/",
        httponly=True,
        samesite="Lax",
        secure=seals.secure_cookies,
    )


async def find_respondent(session: AsyncSession, key: str) -> Respondent | None:
    """The respondent behind a key, without creating one (a stranger's visit writes nothing)."""
    found: Respondent | None = await session.scalar(select(Respondent).where(Respondent.key == key))
    return found


async def apply_language(store: ResponseStore, visit: Visit) -> None:
    """A language picked on the page also becomes the language of the survey in progress."""
    if not visit.lang_chosen:
        return
    respondent = await find_respondent(store.session, visit.key)
    if respondent is not None and respondent.language != visit.lang:
        await store.set_language(respondent, visit.lang)


# Signed values: response refs, CSRF tokens, refusals carried over a redirect -------------------


def unsign(signer: Signer, signed: str | None, limit: int = 512) -> str | None:
    """`Signer.unsign` for values from outside: non-ASCII text would make hmac.compare_digest
    raise instead of saying no."""
    if not signed or len(signed) > limit or not signed.isascii():
        return None
    return signer.unsign(signed)


def response_ref(seals: Seals, response_id: int) -> str:
    return seals.refs.sign(str(response_id))


def response_id_of(seals: Seals, ref: str) -> int | None:
    value = unsign(seals.refs, ref, limit=64)
    return int(value) if value is not None and value.isascii() and value.isdigit() else None


def csrf_token(seals: Seals, scope: str, key: str) -> str:
    """A form's token: bound to what the form is about and to the person who got it."""
    return seals.forms.sign(f"{scope}|{key}").rpartition(".")[2]


def csrf_ok(seals: Seals, scope: str, key: str, token: str) -> bool:
    return hmac.compare_digest(csrf_token(seals, scope, key).encode(), token.encode())


def refusal_param(seals: Seals, scope: str, error: InvalidAnswer) -> str:
    """`?e=`: why the last answer was not taken, signed so nobody can put words in our mouth."""
    params = {k: v for k, v in error.params.items() if isinstance(v, int | str)}
    payload = {"s": scope, "r": error.reason, "p": params, "t": int(time.time())}
    blob = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode())
    return seals.errors.sign(blob.decode().rstrip("="))


def read_refusal(seals: Seals, scope: str, value: str | None) -> InvalidAnswer | None:
    blob = unsign(seals.errors, value)
    if blob is None:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(blob + "=" * (-len(blob) % 4)))
    except (ValueError, binascii.Error):
        return None
    if not isinstance(payload, dict) or payload.get("s") != scope:
        return None
    if not isinstance(payload.get("t"), int) or time.time() - payload["t"] > ERROR_TTL_S:
        return None
    reason, params = payload.get("r"), payload.get("p")
    if reason not in messages.catalogue() or not isinstance(params, dict):
        return None
    return InvalidAnswer(reason, params)


def say(key: str, lang: str, params: Mapping[str, Any] | None = None) -> str:
    """A message; a template that does not fit its parameters still says something sensible."""
    try:
        return messages.text(key, lang, **dict(params or {}))
    except (KeyError, IndexError, ValueError):
        return messages.text(key, lang) if key in messages.catalogue() else ""


# Rendering ---------------------------------------------------------------------------------


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
        "title": messages.text("web_page_title", visit.lang),
    }
    html = aiohttp_jinja2.render_string(
        template, request, {**base, **(context or {})}, app_key=TEMPLATES_KEY
    )
    response = web.Response(text=html, content_type="text/html", status=status)
    response.headers.update(SECURITY_HEADERS)
    remember(request, response, visit)
    return response


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
    context = {"message": say(key, visit.lang, params), "back": back, "tone": _tone(status)}
    return page(request, visit, "message.html", context, status=status)


def _tone(status: int) -> str:
    return "info" if status < 400 else "problem"


def redirect(request: web.Request, visit: Visit, location: str) -> web.Response:
    response = web.Response(status=303, headers={"Location": location, **SECURITY_HEADERS})
    remember(request, response, visit)
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


class FormProblem(enum.Enum):
    BAD = "bad"
    TOO_LARGE = "too_large"


async def read_form(request: web.Request) -> MultiDict[str] | FormProblem:
    """The posted form, or why it can't be read. Only urlencoded forms: our pages send nothing
    else, and multipart would write uploads to disk. Bad UTF-8 becomes U+FFFD, not an error."""
    if request.content_type not in ("", "application/x-www-form-urlencoded"):
        return FormProblem.BAD
    body = await _read_body(request)
    if body is None:
        return FormProblem.TOO_LARGE
    try:
        pairs = parse_qsl(
            body.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=FORM_FIELDS
        )
    except ValueError:
        return FormProblem.BAD
    return MultiDict(pairs)


async def _read_body(request: web.Request) -> bytes | None:
    """The request body, or None when it is larger than any honest form of ours."""
    if (request.content_length or 0) > FORM_LIMIT:
        return None
    body = bytearray()
    async for chunk in request.content.iter_chunked(16 * 1024):
        body.extend(chunk)
        if len(body) > FORM_LIMIT:
            return None
    return bytes(body)


# Invitation links and office codes ---------------------------------------------------------


async def open_link(request: web.Request) -> web.StreamResponse:
    """GET /s/{token}: open (or resume) the invitation's response and go to its first question."""
    visit = visit_of(request)
    if request.method == "HEAD":  # a link checker must not use up the citizen's invitation
        return page(request, visit, "message.html", {"message": "", "back": None, "tone": "info"})
    token = request.match_info["token"]
    async with request.app[SESSIONS_KEY]() as session:
        store = ResponseStore(session)
        await apply_language(store, visit)
        # Look before creating a respondent: guessed or mangled links must write nothing.
        found = await invitations.find(session, token)
        if isinstance(found, InvitationProblem):
            return message_page(request, visit, found.value, REFUSAL_STATUS.get(found.value, 404))
        respondent = await store.respondent(visit.key, visit.lang)
        opened = await request.app[DESK_KEY].open_invitation(
            store, respondent, token, visit.channel, visit.lang
        )
    if isinstance(opened, Refused):
        return message_page(request, visit, opened.reason, REFUSAL_STATUS.get(opened.reason, 404))
    return redirect(request, visit, _survey_url(request, opened.id))


def _survey_url(request: web.Request, response_id: int) -> str:
    return f"/r/{quote(response_ref(request.app[SEALS_KEY], response_id), safe='')}"


async def office_page(request: web.Request) -> web.StreamResponse:
    """GET /o/{code}: the office's services as large radio buttons."""
    visit = visit_of(request)
    code = request.match_info["code"]
    async with request.app[SESSIONS_KEY]() as session:
        store = ResponseStore(session)
        await apply_language(store, visit)
        opened = await request.app[DESK_KEY].open_office(store, code)
    if isinstance(opened, Refused) or not opened.services:
        return message_page(request, visit, "office_unknown", 404)
    error = read_refusal(request.app[SEALS_KEY], _office_scope(code), request.query.get("e"))
    return _office_form(request, visit, code, opened, error)


def _office_scope(code: str) -> str:
    return f"office:{code}"


def _office_form(
    request: web.Request,
    visit: Visit,
    code: str,
    choice: OfficeChoice,
    error: InvalidAnswer | None,
) -> web.Response:
    seals = request.app[SEALS_KEY]
    context = {
        "heading": say("choose_service", visit.lang, {"office": choice.office.name(visit.lang)}),
        "services": [
            {"value": str(service.id), "label": service.name(visit.lang), "id": f"s{service.id}"}
            for service in choice.services
        ],
        "action": _office_url(code),
        "csrf": csrf_token(seals, _office_scope(code), visit.key),
        "error": say(error.reason, visit.lang, error.params) if error else None,
    }
    return page(request, visit, "office.html", context)


async def start_walk_in(request: web.Request) -> web.StreamResponse:
    """POST /o/{code}: the service picked at an office starts a walk-in response."""
    visit = visit_of(request)
    seals = request.app[SEALS_KEY]
    code = request.match_info["code"]
    form = await read_form(request)
    scope = _office_scope(code)
    if isinstance(form, FormProblem) or not csrf_ok(seals, scope, visit.key, form.get("csrf", "")):
        return message_page(request, visit, "web_bad_request", 403, back=_office_url(code))
    service_id = _small_int(form.get("service", ""))
    async with request.app[SESSIONS_KEY]() as session:
        store = ResponseStore(session)
        desk = request.app[DESK_KEY]
        opened = await desk.open_office(store, code)
        if isinstance(opened, Refused):
            return message_page(request, visit, "office_unknown", 404)
        if service_id is None or all(service.id != service_id for service in opened.services):
            refusal = refusal_param(seals, scope, InvalidAnswer("choose_offered"))
            return redirect(request, visit, f"{_office_url(code)}?e={refusal}")
        respondent = await store.respondent(visit.key, visit.lang)
        if await _walk_ins_last_hour(session, respondent) >= WALK_INS_PER_HOUR:
            return message_page(request, visit, "web_too_many", 429)
        started = await desk.start_walk_in(
            store, respondent, opened.office.id, service_id, visit.channel, visit.lang
        )
    if isinstance(started, Refused):
        return message_page(request, visit, started.reason, 404)
    return redirect(request, visit, _survey_url(request, started.id))


def _office_url(code: str) -> str:
    return f"/o/{quote(code, safe='')}"


def _small_int(value: str) -> int | None:
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 12 else None


async def _walk_ins_last_hour(session: AsyncSession, respondent: Respondent) -> int:
    # From the database, not memory: holds across workers and restarts. It only slows down
    # someone who keeps the cookie; a scripted flood is the reverse proxy's job.
    since = utcnow() - timedelta(hours=1)
    count = await session.scalar(
        select(func.count(Response.id)).where(
            Response.respondent_id == respondent.id,
            Response.walk_in.is_(True),
            Response.started_at >= since,
        )
    )
    return int(count or 0)


# The survey itself ---------------------------------------------------------------------------


async def _owned(
    request: web.Request, store: ResponseStore, visit: Visit
) -> Response | web.Response:
    """The response a ref names, if it is this visitor's; otherwise the page to show instead.
    Someone else's survey is never shown, whatever the ref."""
    response_id = response_id_of(request.app[SEALS_KEY], request.match_info["ref"])
    response = await store.response(response_id) if response_id is not None else None
    if response is None:
        return message_page(request, visit, "web_not_found", 404)
    respondent = await find_respondent(store.session, visit.key)
    if respondent is None or response.respondent_id != respondent.id:
        return message_page(request, visit, "web_session_lost", 403)
    return response


async def question_page(request: web.Request) -> web.StreamResponse:
    """GET /r/{ref}: the current question, the thank-you page, or why neither."""
    visit = visit_of(request)
    async with request.app[SESSIONS_KEY]() as session:
        store = ResponseStore(session)
        await apply_language(store, visit)
        owned = await _owned(request, store, visit)
        if isinstance(owned, web.Response):
            return owned
        if owned.status is ResponseStatus.STOPPED:
            return message_page(request, visit, "nothing_in_progress", 410)
        desk = request.app[DESK_KEY]
        conversation = await desk.conversation(store, owned)
        step = conversation.current()
        definition = conversation.definition
        if owned.status is ResponseStatus.COMPLETED or not isinstance(step, Ask):
            requested = complaint_requested(definition, conversation.answers)
            return _thanks(request, visit, owned, definition, requested)
    ref = request.match_info["ref"]
    error = step.error or read_refusal(request.app[SEALS_KEY], ref, request.query.get("e"))
    first = step.number == 1 and not conversation.answers
    return _question(request, visit, owned, definition, step, error, first)


def _question(
    request: web.Request,
    visit: Visit,
    response: Response,
    definition: SurveyDefinition,
    step: Ask,
    error: InvalidAnswer | None,
    first: bool,
) -> web.Response:
    seals = request.app[SEALS_KEY]
    ref = request.match_info["ref"]
    lang = visit.lang
    context = {
        "title": definition.title.get(lang) or definition.title["ru"],
        "service": response.service.name(lang),
        "agency": response.service.agency.name(lang),
        "intro": (definition.intro or {}).get(lang) if first else None,
        "progress": say("progress", lang, {"number": step.number, "total": step.total}),
        "number": step.number,
        "total": step.total,
        "error": say(error.reason, lang, error.params) if error else None,
        "q": question_view(step.question, lang),
        "action": f"/r/{quote(ref, safe='')}",
        "csrf": csrf_token(seals, ref, visit.key),
    }
    return page(request, visit, "question.html", context)


@dataclass(frozen=True)
class Option:
    value: str
    label: str
    id: str


@dataclass(frozen=True)
class QuestionView:
    """A question as the template needs it: texts in one language, options as strings."""

    name: str
    kind: str
    label: str
    hint: str | None
    options: list[Option]
    optional: bool
    limit: int


def question_view(question: Question, lang: str) -> QuestionView:
    kind = question.type
    if kind is QuestionType.RATING:
        values = [str(n) for n in range(1, 6)]
        options = [Option(v, v, f"v{v}") for v in values]
    elif kind is QuestionType.NPS:
        options = [Option(str(n), str(n), f"v{n}") for n in range(11)]
    elif kind in (QuestionType.SELECT_ONE, QuestionType.SELECT_MULTIPLE):
        options = [Option(c.name, c.text(lang), f"v-{c.name}") for c in question.choices]
    elif kind is QuestionType.YES_NO:
        options = [
            Option("yes", messages.text("button_yes", lang), "v-yes"),
            Option("no", messages.text("button_no", lang), "v-no"),
        ]
    else:
        options = []
    return QuestionView(
        name=question.name,
        kind=kind.value,
        label=question.text(lang),
        hint=question.hint_text(lang),
        options=options,
        optional=not question.required,
        limit=question.text_limit,
    )


def _thanks(
    request: web.Request,
    visit: Visit,
    response: Response,
    definition: SurveyDefinition,
    complaint: bool,
) -> web.Response:
    lang = visit.lang
    # In Telegram the complaint steps come to the chat; on the plain web there is no chat.
    in_telegram = response.channel is Channel.MINI_APP
    complaint_key = "complaint_noted" if in_telegram else "web_complaint_noted"
    context = {
        "thanks": definition.thanks.get(lang) or definition.thanks["ru"],
        "complaint": say(complaint_key, lang) if complaint else None,
        "service": response.service.name(lang),
    }
    return page(request, visit, "thanks.html", context)


async def answer(request: web.Request) -> web.StreamResponse:
    """POST /r/{ref}: one answer (or a skip) to the current question, then back to GET."""
    visit = visit_of(request)
    seals = request.app[SEALS_KEY]
    ref = request.match_info["ref"]
    form = await read_form(request)
    async with request.app[SESSIONS_KEY]() as session:
        store = ResponseStore(session)
        owned = await _owned(request, store, visit)
        if isinstance(owned, web.Response):
            return owned
        here = _survey_url(request, owned.id)
        if form is FormProblem.TOO_LARGE:
            refusal = refusal_param(seals, ref, InvalidAnswer("web_too_large"))
            return redirect(request, visit, f"{here}?e={refusal}")
        if isinstance(form, FormProblem) or not csrf_ok(
            seals, ref, visit.key, form.get("csrf", "")
        ):
            return message_page(request, visit, "web_bad_request", 403, back=here)
        if owned.status is not ResponseStatus.IN_PROGRESS:
            return redirect(request, visit, here)
        conversation = await request.app[DESK_KEY].conversation(store, owned)
        name, raw = raw_answer(conversation.definition, form)
        step = await conversation.answer(name, raw)
    if isinstance(step, Ask) and step.error is not None:
        return redirect(request, visit, f"{here}?e={refusal_param(seals, ref, step.error)}")
    return redirect(request, visit, here)


def raw_answer(definition: SurveyDefinition, form: MultiDict[str]) -> tuple[str, RawValue]:
    """The form as the engine takes it: None for a skip, a list for several choices, else one
    string. Several values for a one-value question go through as a list: the engine refuses."""
    name = form.get("question", "")
    if "skip" in form:
        return name, None
    values = form.getall("value", [])
    question = definition.question(name)
    if question is not None and question.type is QuestionType.SELECT_MULTIPLE:
        return name, values
    if len(values) == 1:
        return name, values[0]
    return name, values or ""


# Telegram Mini App -------------------------------------------------------------------------


async def miniapp_page(request: web.Request) -> web.StreamResponse:
    """GET /app: a page whose script hands Telegram's init data to /app/session."""
    visit = visit_of(request)
    context = {
        "loading": say("web_loading", visit.lang),
        "invalid": say("web_miniapp_invalid", visit.lang),
        "open": say("web_miniapp_open", visit.lang),
    }
    return page(request, visit, "miniapp.html", context)


async def miniapp_session(request: web.Request) -> web.StreamResponse:
    """POST /app/session {"init_data": ...}: who Telegram says this is, and where to go.
    JSON only: a cross-site form cannot send it without the browser asking us first."""
    visit = visit_of(request)
    settings = request.app[SETTINGS_KEY]
    seals = request.app[SEALS_KEY]
    init_data = await _posted_init_data(request)
    token = settings.telegram_token.get_secret_value() if settings.telegram_token else None
    user = miniapp.verify_init_data(token, init_data, utcnow()) if init_data else None
    if user is None:
        body = {"message": say("web_miniapp_invalid", visit.lang)}
        return _json(body, 403)
    key = respondent_key(seals.secret, "telegram", user.user_id)
    known = await _known_respondent(request, key)
    target = miniapp.destination(user.start_param) or known.resume_url or "/app/open"
    response = _json({"url": target}, 200)
    set_identity(response, seals, Channel.MINI_APP, key)
    if not _has_language(request):
        # The language chosen in the bot, else Telegram's: the webview's own header often
        # says nothing about the person.
        lang = known.language or user.language or visit.lang
        _set_cookie(response, seals, LANG_COOKIE, lang, LANG_COOKIE_AGE)
    return response


def _has_language(request: web.Request) -> bool:
    return _known_language(request.cookies.get(LANG_COOKIE)) is not None


def _json(body: Mapping[str, Any], status: int) -> web.Response:
    response = web.json_response(dict(body), status=status)
    response.headers.update(SECURITY_HEADERS)
    return response


async def _posted_init_data(request: web.Request) -> str | None:
    if request.content_type != "application/json":
        return None
    body = await _read_body(request)
    try:
        payload = json.loads(body.decode("utf-8", "replace")) if body is not None else None
    except ValueError:
        return None
    value = payload.get("init_data") if isinstance(payload, dict) else None
    return value if isinstance(value, str) else None


@dataclass(frozen=True)
class KnownRespondent:
    language: str | None = None
    resume_url: str | None = None


async def _known_respondent(request: web.Request, key: str) -> KnownRespondent:
    """What we already know of a Telegram user: the bot's language, a survey left open."""
    async with request.app[SESSIONS_KEY]() as session:
        respondent = await find_respondent(session, key)
        if respondent is None:
            return KnownRespondent()
        response = await ResponseStore(session).open_response(respondent)
    return KnownRespondent(
        language=_known_language(respondent.language),
        resume_url=_survey_url(request, response.id) if response is not None else None,
    )


async def miniapp_nothing_to_open(request: web.Request) -> web.StreamResponse:
    return message_page(request, visit_of(request), "nothing_in_progress", 200)
