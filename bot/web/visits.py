"""Who is visiting: their language and pseudonymous identity, kept in cookies; and the signed
values a browser carries back to us (response refs in URLs, CSRF tokens bound to the visitor,
refusal reasons carried across a redirect)."""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import messages
from bot.engine.flow import InvalidAnswer
from bot.web.keys import SEALS_KEY, Seals
from core.identity import Signer, respondent_key
from core.language import preferred_language
from core.models import Channel, Respondent
from core.unit_of_work import UnitOfWork

ID_COOKIE = "qanagat_id"
LANG_COOKIE = "qanagat_lang"
ID_COOKIE_AGE = timedelta(days=30)  # well past an invitation's life, so a survey can be resumed
LANG_COOKIE_AGE = timedelta(days=365)

ERROR_TTL_S = 600  # a refusal shown after a redirect; an old link no longer shows it


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
        or remembered_language(request)
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


def known_language(value: str | None) -> str | None:
    return value if value in messages.LANGUAGES else None


def remembered_language(request: web.Request) -> str | None:
    """The language this browser chose before, from its cookie."""
    return known_language(request.cookies.get(LANG_COOKIE))


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
        set_language(response, seals, visit.lang)


def set_identity(response: web.StreamResponse, seals: Seals, channel: Channel, key: str) -> None:
    signed = seals.respondents.sign(f"{channel.value}:{key}")
    _set_cookie(response, seals, ID_COOKIE, signed, ID_COOKIE_AGE)


def set_language(response: web.StreamResponse, seals: Seals, lang: str) -> None:
    _set_cookie(response, seals, LANG_COOKIE, lang, LANG_COOKIE_AGE)


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


async def apply_language(store: UnitOfWork, visit: Visit) -> None:
    """A language picked on the page also becomes the language of the survey in progress
    (committed at once)."""
    if not visit.lang_chosen:
        return
    respondent = await store.responses.find_respondent(visit.key)
    if respondent is not None and respondent.language != visit.lang:
        await store.responses.set_language(respondent, visit.lang)
        await store.commit()


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
    if not isinstance(reason, str) or reason not in messages.WORDS or not isinstance(params, dict):
        return None
    return InvalidAnswer(reason, params)
