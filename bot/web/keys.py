"""What `setup_web_channel` puts on the aiohttp app for the handlers to find. A module of its
own so that every other web module can import it without importing each other."""

from __future__ import annotations

from dataclasses import dataclass

import jinja2
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.opening import SurveyDesk
from core.identity import Signer
from core.public_results import OfficeRatings
from core.settings import Settings
from core.unit_of_work import UnitsOfWork


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
UNITS_KEY = web.AppKey("qanagat_web_units", UnitsOfWork)
SEALS_KEY = web.AppKey("qanagat_web_seals", Seals)
TEMPLATES_KEY = web.AppKey("qanagat_web_templates", jinja2.Environment)
# Offices' current ratings, when the public results pages are composed in (qanagat/app.py).
RATINGS_KEY = web.AppKey[OfficeRatings]("qanagat_office_ratings")
