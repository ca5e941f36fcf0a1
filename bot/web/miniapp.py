"""Telegram Mini App: trust the init data Telegram signs, nothing the page itself claims.

Telegram opens our page with `#tgWebAppData=<init data>`; the page posts that string back to us
and we check its HMAC with the bot token (aiogram does the arithmetic). A verified user becomes
the same pseudonym the Telegram bot uses, so the Mini App and the chat share one respondent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote

from aiogram.utils.web_app import safe_parse_webapp_init_data

from bot.messages import pick_language
from core.invitations import OFFICE_PREFIX, is_office_payload

MAX_AGE = timedelta(hours=24)
# Telegram's clock and ours may differ a little; init data "from the future" beyond this is forged.
CLOCK_SKEW = timedelta(minutes=5)
MAX_INIT_DATA = 4096
# What Telegram allows in a start parameter; anything else cannot have come from a real link.
START_PARAM = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


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


def destination(start_param: str | None) -> str | None:
    """Where a start parameter leads: an invitation link or an office's service list."""
    if start_param is None or not START_PARAM.match(start_param):
        return None
    if is_office_payload(start_param):
        code = start_param.removeprefix(OFFICE_PREFIX)
        return f"/o/{quote(code, safe='')}" if code else None
    return f"/s/{quote(start_param, safe='')}"
