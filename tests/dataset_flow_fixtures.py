"""A small open-data registry for the feedback flow's tests: published sets of the seeded akimat,
one withdrawn, one planned; and what the database then holds of ratings and reports."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.datasets import DatasetDesk
from bot.web.datasets import setup_web_datasets
from core.clock import utcnow
from core.integrity.flags import Rules
from core.models import (
    Agency,
    AgencyKind,
    Complaint,
    Dataset,
    DatasetRating,
    DatasetState,
    UpdateFrequency,
)
from scoring.privacy import scrub
from tests.conftest import LENIENT, SURVEYS, Seed
from tests.web_fixtures import WebApp, build_web_app


@dataclass(frozen=True)
class Registry:
    schools: Dataset
    buses: Dataset
    withdrawn: Dataset
    planned: Dataset


async def add_registry(session_factory: async_sessionmaker[AsyncSession], seed: Seed) -> Registry:
    now = utcnow()

    def dataset(external_id: str, kk: str, ru: str, en: str | None, state: DatasetState) -> Dataset:
        return Dataset(
            agency_id=seed.agency.id,
            external_id=external_id,
            title_kk=kk,
            title_ru=ru,
            title_en=en,
            url=f"https://data.egov.kz/datasets/view?index={external_id}",
            update_frequency=UpdateFrequency.MONTHLY,
            last_updated=now.date(),
            state=state,
            created_at=now,
            updated_at=now,
        )

    async with session_factory() as session:
        made = Registry(
            schools=dataset(
                "ala_schools_2026",
                "Алматы қаласының мектептері",
                "Школы города Алматы",
                "Schools of Almaty",
                DatasetState.PUBLISHED,
            ),
            buses=dataset(
                "ala_bus_routes",
                "Автобус бағыттары",
                "Автобусные маршруты Алматы",
                None,
                DatasetState.PUBLISHED,
            ),
            withdrawn=dataset(
                "ala_old_clinics",
                "Емханалар (ескі)",
                "Поликлиники (старый)",
                "Clinics (old)",
                DatasetState.WITHDRAWN,
            ),
            planned=dataset(
                "ala_parks_plan",
                "Саябақтар",
                "Парки Алматы",
                "Parks of Almaty",
                DatasetState.PLANNED,
            ),
        )
        session.add_all([made.schools, made.buses, made.withdrawn, made.planned])
        await session.commit()
    return made


async def add_finance_ministry(
    session_factory: async_sessionmaker[AsyncSession], registry: Registry
) -> None:
    """A second agency with one published set, whose code sorts first and whose name does not
    (in any language): lists sorted by name put it after the seeded agency."""
    async with session_factory() as session:
        finance = Agency(
            code="AAA",  # first by code, not by name
            kind=AgencyKind.CENTRAL,
            name_kk="Қаржы министрлігі",
            name_ru="Министерство финансов",
            name_en="Ministry of Finance",
        )
        session.add(finance)
        await session.flush()
        session.add(
            Dataset(
                agency_id=finance.id,
                external_id="mf_budget",
                title_kk="Бюджет",
                title_ru="Бюджет",
                title_en="Budget",
                url="https://data.egov.kz/datasets/view?index=mf_budget",
                update_frequency=UpdateFrequency.MONTHLY,
                last_updated=registry.schools.last_updated,
                state=DatasetState.PUBLISHED,
                created_at=registry.schools.created_at,
                updated_at=registry.schools.created_at,
            )
        )
        await session.commit()


async def ratings(session_factory: async_sessionmaker[AsyncSession]) -> list[DatasetRating]:
    async with session_factory() as session:
        return list(await session.scalars(select(DatasetRating).order_by(DatasetRating.id)))


async def reports(session_factory: async_sessionmaker[AsyncSession]) -> list[Complaint]:
    async with session_factory() as session:
        return list(
            await session.scalars(
                select(Complaint).where(Complaint.dataset_id.is_not(None)).order_by(Complaint.id)
            )
        )


def build_dataset_web_app(
    session_factory: async_sessionmaker[AsyncSession], rules: Rules = LENIENT
) -> web.Application:
    """The web channel with the data-set pages, as qanagat/app.py mounts them; completed
    ratings are judged by `rules`."""
    app = build_web_app(session_factory)
    desk = DatasetDesk.from_surveys(SURVEYS, scrub, rules)
    assert desk is not None
    setup_web_datasets(app, desk)
    return app


@asynccontextmanager
async def running_dataset_web_app(
    session_factory: async_sessionmaker[AsyncSession], rules: Rules = LENIENT
) -> AsyncIterator[WebApp]:
    server = TestServer(build_dataset_web_app(session_factory, rules))
    await server.start_server()
    app = WebApp(server, session_factory)
    try:
        yield app
    finally:
        for session in app.sessions:
            await session.close()
        await server.close()
