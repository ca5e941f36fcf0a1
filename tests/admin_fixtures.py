"""Helpers for the admin web's tests: the admin over a test database with a clock the test
moves, two agencies with rollups, one user per role, and a person with a browser of their own
(cookie jar) who signs in, opens pages and sends forms."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
from argon2 import PasswordHasher
from pydantic import SecretStr
from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from admin import accounts
from admin.web.app import setup_admin
from core.models import (
    Agency,
    AgencyKind,
    AuditEvent,
    Channel,
    PublicService,
    Response,
    ResponseStatus,
    ServicePoint,
)
from core.rollups import add_completed_response
from core.settings import Settings
from qanagat.scores import score_period
from tests.conftest import Seed
from tests.web_fixtures import PageView, read_page

SECRET = "admin-test-secret-0123456789abcdef"
PASSWORD = "correct horse battery staple"
ADMIN_EMAIL = "admin@example.kz"
ANALYST_EMAIL = "analyst@example.kz"
AGENCY_EMAIL = "ala@example.kz"  # the Almaty akimat's user
OTHER_AGENCY_EMAIL = "ast@example.kz"  # the Astana akimat's user
EMAILS = {"admin": ADMIN_EMAIL, "analyst": ANALYST_EMAIL, "agency": AGENCY_EMAIL}


class Clock:
    """A clock the test moves by hand (sessions and throttling read it)."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def admin_settings(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "secret_key": SecretStr(SECRET),
        "public_url": "http://127.0.0.1:8080",
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg, arg-type]


@dataclass
class World:
    """What the admin tests find in the database: two akimats with figures, four users."""

    almaty: Agency
    astana: Agency
    astana_service: PublicService


async def populate(session_factory: async_sessionmaker[AsyncSession], seed: Seed) -> World:
    async with session_factory() as db:
        astana = Agency(
            code="AST",
            kind=AgencyKind.LOCAL,
            region="AST",
            name_kk="Астана қаласының әкімдігі",
            name_ru="Акимат города Астаны",
            name_en="Akimat of Astana",
        )
        ministry = Agency(
            code="MJ",
            kind=AgencyKind.CENTRAL,
            region=None,
            name_kk="Әділет министрлігі",
            name_ru="Министерство юстиции",
            name_en="Ministry of Justice",
        )
        db.add_all([astana, ministry])
        await db.flush()
        service = PublicService(
            code="AST-S1",
            agency_id=astana.id,
            name_kk="Тұрғын үй көмегі",
            name_ru="Жилищная помощь",
            name_en="Housing assistance",
        )
        office = ServicePoint(
            code="AST-01",
            agency_id=astana.id,
            region="AST",
            name_kk="№1 ХҚКО (Астана)",
            name_ru="ЦОН №1 (Астана)",
            name_en="Service centre No 1 (Astana)",
        )
        db.add_all([service, office])
        await db.flush()
        today = datetime.now(UTC).replace(hour=6)
        # Almaty: 150 ratings over three months, 120 of them 4 or 5; Astana: 130, 52 satisfied.
        await _responses(db, seed.agency.id, seed.service.id, seed.office.id, today, 150, 120)
        await _responses(db, astana.id, service.id, office.id, today, 130, 52)
        for email, role, agency in (
            (ADMIN_EMAIL, "admin", None),
            (ANALYST_EMAIL, "analyst", None),
            (AGENCY_EMAIL, "agency", seed.agency.code),
            (OTHER_AGENCY_EMAIL, "agency", "AST"),
        ):
            await accounts.add_user(
                db, accounts.NewUser(email, accounts.AdminRole(role), agency, "ru"), PASSWORD, 12
            )
        await db.commit()
        almaty = await db.get(Agency, seed.agency.id)
        assert almaty is not None
    return World(almaty, astana, service)


async def _responses(
    db: AsyncSession,
    agency_id: int,
    service_id: int,
    office_id: int,
    today: datetime,
    count: int,
    satisfied: int,
) -> None:
    """Completed responses counted into rollups through the production path."""
    for number in range(count):
        rating = 5 if number < satisfied else 2
        defects = number % 10 == 0
        response = Response(
            survey_id="post_service",
            survey_version="1",
            language="ru",
            status=ResponseStatus.COMPLETED,
            channel=Channel.TELEGRAM if number % 3 else Channel.WEB,
            service_id=service_id,
            service_point_id=office_id if number % 4 else None,
            completed_at=today - timedelta(days=number % 80),
        )
        metrics = [
            ("satisfaction", str(rating)),
            ("deadline_met", "no" if defects else "yes"),
            ("unjustified_refusal", "no"),
            ("extra_documents_demanded", "yes" if defects else "no"),
            ("full_package_once", "yes"),
        ]
        await add_completed_response(db, response, agency_id, metrics)


# The invitation funnel the overview tests read: (served, invited, delivered, started, completed)
# for Almaty's and Astana's service today. In all: 600, 450, 420, 330, 280.
FUNNEL = {"ALA": (400, 300, 280, 200, 150), "AST": (200, 150, 140, 130, 130)}
ABANDONED = {"ALA": 33, "AST": 0}  # started, never finished before the invitation expired


async def add_funnel(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed, world: World
) -> None:
    """Count FUNNEL and ABANDONED into funnel_daily through the path the integration API, the
    response store and the worker use (core.funnel.add, add_abandoned)."""
    from core import funnel

    delivered = datetime.now(UTC).replace(hour=6)
    counts = {}
    abandoned = {}
    for (agency_id, service_id, office_id), code in (
        ((seed.agency.id, seed.service.id, seed.office.id), "ALA"),
        ((world.astana.id, world.astana_service.id, None), "AST"),
    ):
        key = funnel.FunnelKey.of(delivered, agency_id, service_id, office_id)
        counts[key] = dict(zip(funnel.STEPS, FUNNEL[code], strict=True))
        abandoned[key] = ABANDONED[code]
    async with session_factory() as db:
        await funnel.add(db, counts)
        await funnel.add_abandoned(db, abandoned)
        await db.commit()


def build_admin_server_app(
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    clock: Clock,
    redis: Redis | None = None,
) -> web.Application:
    app = web.Application()
    setup_admin(
        app,
        settings=settings,
        session_factory=session_factory,
        redis=redis,
        clock=clock,
        scorer=score_period,
    )
    return app


class Person:
    """One person's browser: their cookies and the page they look at."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session
        self.page: PageView | None = None
        self.last: aiohttp.ClientResponse | None = None

    async def open(self, path: str, *, follow: bool = True) -> PageView:
        async with self.session.get(path, allow_redirects=follow) as response:
            self.last = response
            self.page = read_page(response.status, str(response.url), await response.text())
        return self.page

    async def download(self, path: str) -> tuple[int, dict[str, str], bytes]:
        async with self.session.get(path) as response:
            return response.status, dict(response.headers), await response.read()

    async def post(
        self, path: str, fields: Sequence[tuple[str, str]], *, follow: bool = True
    ) -> PageView:
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        async with self.session.post(
            path, data=urlencode(list(fields)), headers=headers, allow_redirects=follow
        ) as response:
            self.last = response
            self.page = read_page(response.status, str(response.url), await response.text())
        return self.page

    @property
    def csrf(self) -> str:
        assert self.page is not None, "open a page first"
        return self.page.hidden("csrf") or ""

    async def sign_in(self, email: str, password: str = PASSWORD) -> PageView:
        await self.open("/admin/login")
        return await self.post(
            "/admin/login", [("csrf", self.csrf), ("email", email), ("password", password)]
        )

    async def send(self, path: str, *fields: tuple[str, str], follow: bool = True) -> PageView:
        """A form of ours: the CSRF token of the page in front of the person, plus `fields`."""
        return await self.post(path, [("csrf", self.csrf), *fields], follow=follow)


@dataclass
class AdminSite:
    server: TestServer
    session_factory: async_sessionmaker[AsyncSession]
    clock: Clock
    world: World
    sessions: list[aiohttp.ClientSession] = field(default_factory=list)

    def person(self, accept_language: str | None = None) -> Person:
        headers = {"Accept-Language": accept_language} if accept_language else {}
        session = aiohttp.ClientSession(
            base_url=self.server.make_url("/"),
            cookie_jar=aiohttp.CookieJar(unsafe=True),
            headers=headers,
        )
        self.sessions.append(session)
        return Person(session)

    async def signed_in(self, email: str) -> Person:
        person = self.person()
        page = await person.sign_in(email)
        assert page.status == 200, (page.status, page.url, page.error)
        return person

    async def audit(self) -> list[AuditEvent]:
        async with self.session_factory() as db:
            return list(await db.scalars(select(AuditEvent).order_by(AuditEvent.id)))


@asynccontextmanager
async def running_admin(
    session_factory: async_sessionmaker[AsyncSession],
    seed: Seed,
    settings: Settings | None = None,
    redis_url: str | None = None,
) -> AsyncIterator[AdminSite]:
    world = await populate(session_factory, seed)
    clock = Clock()
    redis = Redis.from_url(redis_url) if redis_url else None
    app = build_admin_server_app(settings or admin_settings(), session_factory, clock, redis)
    server = TestServer(app)
    await server.start_server()
    site = AdminSite(server, session_factory, clock, world)
    try:
        yield site
    finally:
        for session in site.sessions:
            await session.close()
        await server.close()
        if redis is not None:
            await redis.aclose()


# argon2id at test strength: the production parameters (64 MiB, 3 passes) cost about 0.1 s of
# CPU per sign-in, which the two shared cores of CI would spend hundreds of times.
TEST_HASHER = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1)
