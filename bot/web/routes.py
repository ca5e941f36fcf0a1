"""The mobile web channel: the survey as plain server-rendered pages, for citizens without
Telegram, and inside Telegram as a Mini App.

A thin adapter, like the Telegram one: the engine decides what to ask and whether an answer is
valid, the survey service (`SurveyDesk`, the same calls as Telegram's) keeps every answer when it
is given, and the handlers only turn forms into service calls and steps into HTML. Every form
is POST/redirect/GET, so reloading never answers twice; no GET opens or answers anything; and no
input, however odd, ends in a 500 or a traceback.

    GET  /s/{token}      invitation link: what it is about and a Start button    links.py
    POST /s/{token}      Start: open or resume its response, redirect to /r/{ref}
    GET  /o/{code}       office QR code: pick the service received
    POST /o/{code}       start a walk-in response, redirect to /r/{ref}
    GET  /r/{ref}        the current question, or the thank-you page              survey.py
    POST /r/{ref}        answer (or skip) the current question, redirect to GET /r/{ref}
    GET  /app            Telegram Mini App entry (a little JS posts the init data) miniapp.py
    POST /app/session    verify the init data, set the respondent cookie, say where to go
    GET  /app/open       a verified Mini App user with nothing to open
    GET  /               what this site is for, in the visitor's language
    GET  /favicon.ico    the icon (an SVG; the pages link it too)
    any unknown path     "page not found" in the visitor's language, on a phone-sized page

The other modules: `visits` (cookies, identity, language, signed values), `pages` (rendering,
redirects, forms, the error guard), `keys` (what this setup leaves on the app).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.opening import SurveyDesk
from bot.web.keys import (
    DESK_KEY,
    SEALS_KEY,
    SESSIONS_KEY,
    SETTINGS_KEY,
    TEMPLATES_KEY,
    UNITS_KEY,
    Seals,
)
from bot.web.links import link_page, office_page, start_link, start_walk_in
from bot.web.miniapp import miniapp_nothing_to_open, miniapp_page, miniapp_session
from bot.web.pages import Handler, favicon, guarded, home_page, not_found_page, wrong_method
from bot.web.survey import answer, question_page
from core.identity import Signer
from core.settings import Settings
from core.unit_of_work import UnitsOfWork

HERE = Path(__file__).parent
TEMPLATE_DIR = HERE / "templates"
STATIC_DIR = HERE / "static"
STATIC_PREFIX = "/static/web"


def setup_web_channel(
    app: web.Application,
    *,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    desk: SurveyDesk,
    units: UnitsOfWork | None = None,
) -> None:
    """Mount the citizen web pages, their templates and static files on `app`. `units`: the
    units of work of the answer path (by default plain statements over `session_factory`)."""
    secret = settings.secret_bytes()
    app[SETTINGS_KEY] = settings
    app[SESSIONS_KEY] = session_factory
    app[DESK_KEY] = desk
    app[UNITS_KEY] = units if units is not None else UnitsOfWork(session_factory)
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
    _route(app, "/s/{token}", get=link_page, post=start_link)
    _route(app, "/o/{code}", get=office_page, post=start_walk_in)
    _route(app, "/r/{ref}", get=question_page, post=answer)
    _route(app, "/app", get=miniapp_page)
    _route(app, "/app/session", post=miniapp_session)
    _route(app, "/app/open", get=miniapp_nothing_to_open)
    _route(app, "/", get=home_page)
    app.router.add_get("/favicon.ico", favicon)
    app.router.add_static(STATIC_PREFIX, STATIC_DIR, name="qanagat_web_static")
    app.middlewares.append(not_found_page)


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
