"""Telegram Mini App: trust the init data Telegram signs, nothing the page itself claims.

Telegram opens our page with `#tgWebAppData=<init data>`; the page posts that string back to us
and we check its HMAC with the bot token (aiogram does the arithmetic). A verified user becomes
the same pseudonym the Telegram bot uses, so the Mini App and the chat share one respondent.

An invitation in the start parameter is opened at once, without the link's Start page: that
page keeps link previews from using invitations up, and a preview cannot post init data that
Telegram signed for a person who opened the Mini App.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiogram.utils.web_app import safe_parse_webapp_init_data
from aiohttp import web

from bot.messages import pick_language
from bot.web.keys import SEALS_KEY, SETTINGS_KEY, UNITS_KEY
from bot.web.links import open_invitation
from bot.web.pages import (
    json_reply,
    link_path,
    message_page,
    office_path,
    page,
    read_body,
    say,
    survey_path,
)
from bot.web.visits import (
    known_language,
    remembered_language,
    set_identity,
    set_language,
    visit_of,
)
from core.clock import utcnow
from core.identity import respondent_key
from core.invitations import OFFICE_PREFIX, is_office_payload
from core.models import Channel, Respondent, Response
from core.settings import Settings
from core.unit_of_work import UnitOfWork

MAX_AGE = timedelta(hours=24)
# Telegram's clock and ours may differ a little; init data "from the future" beyond this is forged.
CLOCK_SKEW = timedelta(minutes=5)
MAX_INIT_DATA = 4096
# What Telegram allows in a start parameter; anything else cannot have come from a real link.
START_PARAM = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
NOTHING_TO_OPEN = "/app/open"


@dataclass(frozen=True)
class MiniAppUser:
    """The verified parts of the init data that we use."""

    user_id: int
    language: str | None
    start_param: str | None


def verify_init_data(token: str | None, init_data: str, now: datetime) -> MiniAppUser | None:
    """The user behind genuine, fresh init data; None when it is missing, forged or stale."""
    if not token or not init_data or len(init_data) > MAX_INIT_DATA:
        return None
    try:
        parsed = safe_parse_webapp_init_data(token, init_data)
    except ValueError:  # a bad signature, and pydantic's or json's complaints, are all ValueErrors
        return None
    if parsed.user is None or parsed.user.is_bot:
        return None
    age = now - parsed.auth_date
    if age > MAX_AGE or age < -CLOCK_SKEW:
        return None
    return MiniAppUser(
        user_id=parsed.user.id,
        language=pick_language(parsed.user.language_code),
        start_param=parsed.start_param,
    )


def _verified_user(settings: Settings, init_data: str | None) -> MiniAppUser | None:
    token = settings.telegram_token.get_secret_value() if settings.telegram_token else None
    return verify_init_data(token, init_data, utcnow()) if init_data else None


# Handlers ------------------------------------------------------------------------------------


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
    seals = request.app[SEALS_KEY]
    user = _verified_user(request.app[SETTINGS_KEY], await _posted_init_data(request))
    if user is None:
        return json_reply({"message": say("web_miniapp_invalid", visit.lang)}, 403)
    key = respondent_key(seals.secret, "telegram", user.user_id)
    chosen = remembered_language(request)
    async with request.app[UNITS_KEY]() as store:
        respondent = await store.responses.find_respondent(key)
        # The language chosen on these pages, else in the bot, else Telegram's: the webview's
        # own header often says nothing about the person.
        lang = (
            chosen
            or known_language(respondent.language if respondent else None)
            or user.language
            or visit.lang
        )
        target = await _destination(request, store, key, respondent, user.start_param, lang)
    response = json_reply({"url": target}, 200)
    set_identity(response, seals, Channel.MINI_APP, key)
    if chosen is None:
        set_language(response, seals, lang)
    return response


async def _destination(
    request: web.Request,
    store: UnitOfWork,
    key: str,
    respondent: Respondent | None,
    start_param: str | None,
    lang: str,
) -> str:
    """Where the Mini App goes: the survey its invitation opens, the office it names, else the
    survey this person left open, else a page saying there is nothing to open."""
    param = start_param if start_param is not None and START_PARAM.match(start_param) else None
    if param is not None and is_office_payload(param):
        code = param.removeprefix(OFFICE_PREFIX)
        if code:
            return office_path(code)
    elif param is not None:
        opened = await open_invitation(request, store, param, key, Channel.MINI_APP, lang)
        if isinstance(opened, Response):
            return survey_path(request.app[SEALS_KEY], opened.id)
        return link_path(param)  # the link's own page says why it opens nothing
    resumed = await store.responses.open_response(respondent) if respondent is not None else None
    return survey_path(request.app[SEALS_KEY], resumed.id) if resumed else NOTHING_TO_OPEN


async def _posted_init_data(request: web.Request) -> str | None:
    if request.content_type != "application/json":
        return None
    body = await read_body(request)
    try:
        payload = json.loads(body.decode("utf-8", "replace")) if body is not None else None
    except ValueError:
        return None
    value = payload.get("init_data") if isinstance(payload, dict) else None
    return value if isinstance(value, str) else None


async def miniapp_nothing_to_open(request: web.Request) -> web.StreamResponse:
    """GET /app/open: a verified Mini App user with nothing to open."""
    return message_page(request, visit_of(request), "nothing_in_progress", 200)
