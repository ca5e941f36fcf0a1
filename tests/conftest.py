"""Shared fixtures: a database (PostgreSQL when QANAGAT_TEST_DATABASE_URL is set, else SQLite),
Redis when QANAGAT_TEST_REDIS_URL is set (else in-memory), and a seeded service with an
invitation. In CI (QANAGAT_TEST_REQUIRE_SERVICES=1) an unreachable server fails, never skips."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from bot.engine.definition import SurveyDefinition, load_survey_dir
from core import invitations
from core.clock import utcnow
from core.db import create_engine, create_session_factory
from core.integrity.flags import load_rules
from core.models import (
    Agency,
    AgencyKind,
    Base,
    DeliveryChannel,
    PublicService,
    ServiceEvent,
    ServicePoint,
)
from tests import services

ROOT = Path(__file__).parent.parent


def _redis_of_this_worker() -> None:
    """Under pytest-xdist each worker flushes and fills a Redis database of its own (the
    configured number, then the ones below it), so parallel tests never see each other's keys."""
    url = os.environ.get("QANAGAT_TEST_REDIS_URL")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not url or not worker.startswith("gw"):
        return
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    base = int(parts.path.strip("/") or 0)
    number = (base - int(worker.removeprefix("gw"))) % 16
    os.environ["QANAGAT_TEST_REDIS_URL"] = urlunsplit(parts._replace(path=f"/{number}"))


_redis_of_this_worker()
SURVEYS = load_survey_dir(ROOT / "survey_definitions")
LENIENT_RULES = Path(__file__).with_name("lenient_rules.yaml")
# What tests that are not about the anti-gaming rules judge completions by (see below).
LENIENT = load_rules(LENIENT_RULES)


@pytest.fixture(autouse=True)
def lenient_anti_gaming_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests answer in milliseconds and complete many surveys as one person: the anti-gaming
    rules would flag them all. Servers built from settings here judge by `LENIENT_RULES`;
    tests that count or chain the queue themselves pass `LENIENT`, or, for tests of those
    rules, their own."""
    monkeypatch.setenv("QANAGAT_ANTI_GAMING_RULES", str(LENIENT_RULES))


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str | None]:
    """One throwaway PostgreSQL database for the session (tables truncated between tests)."""
    if services.postgres_url() is None:
        if services.require_services():
            pytest.fail("QANAGAT_TEST_DATABASE_URL is required in CI", pytrace=False)
        yield None
        return

    async def create() -> tuple[str, Callable[[], Awaitable[None]]]:
        url, drop = await services.create_database(services.require_postgres_url())
        engine = create_async_engine(url)
        async with engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
        await engine.dispose()
        return url, drop

    url, drop = asyncio.run(create())
    yield url
    asyncio.run(drop())


async def _truncate(engine: AsyncEngine) -> None:
    tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    async with engine.begin() as connection:
        await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture
async def database_url(postgres_database: str | None, tmp_path: Path) -> AsyncIterator[str]:
    if postgres_database is not None:
        engine = create_async_engine(postgres_database)
        await _truncate(engine)
        await engine.dispose()
        yield postgres_database
        return
    url = f"sqlite+aiosqlite:///{tmp_path / 'test.sqlite3'}"
    engine = create_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    await engine.dispose()
    yield url


@pytest.fixture
async def session_factory(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(database_url)
    yield create_session_factory(engine)
    await engine.dispose()


@pytest.fixture
def redis_url() -> Iterator[str | None]:
    """Redis for tests that want it, flushed first; None means in-memory fakes."""
    url = os.environ.get("QANAGAT_TEST_REDIS_URL") or None
    if url is None:
        if services.require_services():
            pytest.fail("QANAGAT_TEST_REDIS_URL is required in CI", pytrace=False)
        yield None
        return
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    except redis.RedisError as error:
        pytest.fail(f"Redis at QANAGAT_TEST_REDIS_URL is unreachable: {error}")
    finally:
        client.close()
    yield url


@dataclass
class Seed:
    agency: Agency
    service: PublicService
    office: ServicePoint
    survey: SurveyDefinition


@pytest.fixture
async def seed(session_factory: async_sessionmaker[AsyncSession]) -> Seed:
    """One akimat with two services and an office."""
    async with session_factory() as session:
        agency = Agency(
            code="ALA",
            kind=AgencyKind.LOCAL,
            region="ALA",
            name_kk="Алматы қаласының әкімдігі",
            name_ru="Акимат города Алматы",
            name_en="Akimat of Almaty",
        )
        session.add(agency)
        await session.flush()
        service = PublicService(
            code="ALA-S1",
            agency_id=agency.id,
            name_kk="Балабақшаға кезекке қою",
            name_ru="Постановка в очередь в детский сад",
            name_en="Kindergarten waiting list",
        )
        other = PublicService(
            code="ALA-S2",
            agency_id=agency.id,
            name_kk="Жер учаскесін беру",
            name_ru="Предоставление земельного участка",
            name_en="Allocation of a land plot",
        )
        office = ServicePoint(
            code="ALA-01",
            agency_id=agency.id,
            region="ALA",
            name_kk="№1 ХҚКО",
            name_ru="ЦОН №1",
            name_en="Service centre No 1",
        )
        session.add_all([service, other, office])
        await session.commit()
    return Seed(agency, service, office, SURVEYS["post_service"])


@pytest.fixture
def make_invitation(session_factory: async_sessionmaker[AsyncSession], seed: Seed):  # type: ignore[no-untyped-def]
    """Deliver a service (a service event) and return its invitation token."""

    async def make(ttl_hours: int = 72) -> str:
        async with session_factory() as session:
            event = ServiceEvent(
                external_id=f"ev-{uuid.uuid4().hex}",
                service_id=seed.service.id,
                service_point_id=seed.office.id,
                delivery_channel=DeliveryChannel.SERVICE_CENTRE,
                delivered_at=utcnow(),
            )
            session.add(event)
            await session.flush()
            issued = await invitations.issue(session, event, "post_service", ttl_hours)
            await session.commit()
            return issued.token

    return make


@pytest.fixture(autouse=True)
def _cheap_admin_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    """Admin tests hash at test strength (tests/admin_fixtures.py says why)."""
    from tests.admin_fixtures import TEST_HASHER

    monkeypatch.setattr("admin.accounts.HASHER", TEST_HASHER)
