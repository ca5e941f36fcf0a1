"""Helpers for the web channel's tests: the app over a test database, a citizen with a browser
of their own (cookie jar), what a page shows, and Telegram's init-data signing."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload
from yarl import URL

from bot.opening import SurveyDesk
from bot.web.routes import setup_web_channel
from core.clock import reporting_day, utcnow
from core.models import Response
from core.settings import Settings
from core.walk_ins import WalkIns
from tests.conftest import SURVEYS

SECRET = "web-test-secret-0123456789abcdef"
BOT_TOKEN = "123456:TEST-token-for-the-mini-app"


def poster_path(office_code: str, secret: str = SECRET) -> str:
    """Today's walk-in link of an office, as its poster shows it."""
    from core.walk_ins import OfficeCodes

    return f"/o/{OfficeCodes(secret.encode()).code(office_code, reporting_day(utcnow()))}"


def web_settings(telegram_token: str | None = BOT_TOKEN) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        secret_key=SecretStr(SECRET),
        telegram_token=SecretStr(telegram_token) if telegram_token else None,
        public_url="http://127.0.0.1:8080",
    )


def build_web_app(
    session_factory: async_sessionmaker[AsyncSession], settings: Settings | None = None
) -> web.Application:
    """A bare aiohttp app with only the web channel, as qanagat/app.py mounts it."""
    app = web.Application()
    settings = settings or web_settings()
    walk_ins = WalkIns.from_secret(
        settings.secret_bytes(), settings.poster_grace_days, settings.walk_in_limit_per_day
    )
    setup_web_channel(
        app,
        settings=settings,
        session_factory=session_factory,
        desk=SurveyDesk(SURVEYS, "post_service", walk_ins),
    )
    return app


# What a page shows -----------------------------------------------------------------------


@dataclass
class Control:
    tag: str
    attrs: dict[str, str]
    text: str = ""


@dataclass
class PageView:
    """The parts of an HTML page a test asserts on, read the way a person would."""

    status: int
    url: str
    html: str
    lang: str = ""
    headings: list[str] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)
    paragraphs: list[str] = field(default_factory=list)
    inputs: list[Control] = field(default_factory=list)
    labels: list[Control] = field(default_factory=list)
    buttons: list[Control] = field(default_factory=list)
    links: list[Control] = field(default_factory=list)
    forms: list[Control] = field(default_factory=list)
    textareas: list[Control] = field(default_factory=list)

    @property
    def path(self) -> str:
        return URL(self.url).path

    @property
    def heading(self) -> str:
        return self.headings[0] if self.headings else ""

    @property
    def error(self) -> str | None:
        return self.alerts[0] if self.alerts else None

    def hidden(self, name: str) -> str | None:
        for control in self.inputs:
            if control.attrs.get("type") == "hidden" and control.attrs.get("name") == name:
                return control.attrs.get("value", "")
        return None

    @property
    def question(self) -> str | None:
        return self.hidden("question")

    @property
    def action(self) -> str:
        return self.forms[0].attrs["action"]

    def button_texts(self) -> list[str]:
        return [button.text for button in self.buttons]

    def label_texts(self) -> list[str]:
        return [label.text for label in self.labels]

    def value_for_label(self, text: str) -> str:
        """The value of the radio button or checkbox a person would tap by its label."""
        label = next(label for label in self.labels if label.text == text)
        target = label.attrs["for"]
        control = next(c for c in self.inputs if c.attrs.get("id") == target)
        return control.attrs["value"]

    def contains(self, text: str) -> bool:
        every = self.headings + self.alerts + self.paragraphs
        return any(text in chunk for chunk in every)


class _Reader(HTMLParser):
    TEXT_TAGS = ("h1", "p", "label", "button", "a")

    def __init__(self, view: PageView) -> None:
        super().__init__(convert_charrefs=True)
        self.view = view
        self.open: list[tuple[str, dict[str, str], list[str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {key: value or "" for key, value in attrs}
        if tag == "html":
            self.view.lang = values.get("lang", "")
        elif tag == "input":
            self.view.inputs.append(Control(tag, values))
        elif tag == "form":
            self.view.forms.append(Control(tag, values))
        if tag in (*self.TEXT_TAGS, "textarea"):
            self.open.append((tag, values, []))

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1][0] != tag:
            return
        _, attrs, parts = self.open.pop()
        text = " ".join("".join(parts).split())
        if self.open:
            self.open[-1][2].append("".join(parts))
        control = Control(tag, attrs, text)
        if attrs.get("role") == "alert":
            self.view.alerts.append(text)
        if tag == "h1":
            self.view.headings.append(text)
        elif tag == "p":
            self.view.paragraphs.append(text)
        elif tag == "label":
            self.view.labels.append(control)
        elif tag == "button":
            self.view.buttons.append(control)
        elif tag == "a":
            self.view.links.append(control)
        elif tag == "textarea":
            self.view.textareas.append(control)

    def handle_data(self, data: str) -> None:
        if self.open:
            self.open[-1][2].append(data)


def read_page(status: int, url: str, html: str) -> PageView:
    view = PageView(status, url, html)
    _Reader(view).feed(html)
    return view


# A citizen with a browser of their own --------------------------------------------------------


class Citizen:
    """One person's phone: their own cookies, their language, the page they look at."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session
        self.page: PageView | None = None

    async def open(self, path: str) -> PageView:
        async with self.session.get(path) as response:
            self.page = read_page(response.status, str(response.url), await response.text())
        return self.page

    async def post(self, path: str, fields: Sequence[tuple[str, str]] | str | bytes) -> PageView:
        data = urlencode(list(fields)) if isinstance(fields, list | tuple) else fields
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        async with self.session.post(path, data=data, headers=headers) as response:
            self.page = read_page(response.status, str(response.url), await response.text())
        return self.page

    async def start(self, token: str) -> PageView:
        """Open an invitation link and tap Start on the page it shows."""
        landing = await self.open(f"/s/{token}")
        assert landing.status == 200 and landing.path == f"/s/{token}", (
            landing.status,
            landing.url,
        )
        return await self.post(landing.action, [("csrf", landing.hidden("csrf") or "")])

    async def answer(self, *values: str, skip: bool = False) -> PageView:
        """Submit the current question's form with these values (what tapping would send)."""
        page = self.current
        fields = [("csrf", page.hidden("csrf") or ""), ("question", page.question or "")]
        fields += [("value", value) for value in values]
        if skip:
            fields.append(("skip", "1"))
        return await self.post(page.action, fields)

    async def tap(self, label: str) -> PageView:
        """Tap a radio button by its visible label, then the submit button."""
        return await self.answer(self.current.value_for_label(label))

    @property
    def current(self) -> PageView:
        assert self.page is not None, "open a page first"
        return self.page


@dataclass
class WebApp:
    server: TestServer
    session_factory: async_sessionmaker[AsyncSession]
    sessions: list[aiohttp.ClientSession] = field(default_factory=list)

    def citizen(self, accept_language: str | None = None) -> Citizen:
        headers = {"Accept-Language": accept_language} if accept_language else {}
        session = aiohttp.ClientSession(
            base_url=self.server.make_url("/"),
            cookie_jar=aiohttp.CookieJar(unsafe=True),
            headers=headers,
        )
        self.sessions.append(session)
        return Citizen(session)

    async def responses(self) -> list[Response]:
        async with self.session_factory() as session:
            result = await session.scalars(
                select(Response).options(selectinload(Response.answers)).order_by(Response.id)
            )
            return list(result)


@asynccontextmanager
async def running_web_app(
    session_factory: async_sessionmaker[AsyncSession], settings: Settings | None = None
) -> AsyncIterator[WebApp]:
    server = TestServer(build_web_app(session_factory, settings))
    await server.start_server()
    app = WebApp(server, session_factory)
    try:
        yield app
    finally:
        for session in app.sessions:
            await session.close()
        await server.close()


def answers_of(response: Response) -> dict[str, Any]:
    return {answer.question: answer.value for answer in response.answers}


# Telegram's init data, signed as Telegram signs it ------------------------------------------------


def signed_init_data(
    token: str,
    user_id: int,
    *,
    start_param: str | None = None,
    auth_date: int | None = None,
    language: str = "ru",
    extra: Mapping[str, str] | None = None,
) -> str:
    """secret = HMAC_SHA256(key="WebAppData", msg=bot_token); hash = HMAC_SHA256(secret,
    data_check_string), the data-check string being the sorted key=value lines."""
    fields = {
        "auth_date": str(auth_date if auth_date is not None else int(time.time())),
        "query_id": "AAHdF6IQAAAAAN0XohDhrOrc",
        "user": json.dumps(
            {"id": user_id, "first_name": "Айгүл", "language_code": language},
            ensure_ascii=False,
            separators=(",", ":"),
        ),
    }
    if start_param is not None:
        fields["start_param"] = start_param
    fields.update(extra or {})
    check = "\n".join(f"{key}={value}" for key, value in sorted(fields.items()))
    secret = hmac.new(b"WebAppData", token.encode(), hashlib.sha256).digest()
    fields["hash"] = hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
    return urlencode(fields)
