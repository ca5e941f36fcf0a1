"""A small open-data registry for the feedback flow's tests: published sets of the seeded akimat,
one withdrawn, one planned; and what the database then holds of ratings and reports."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import utcnow
from core.models import (
    Complaint,
    Dataset,
    DatasetRating,
    DatasetState,
    UpdateFrequency,
)
from tests.conftest import Seed


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
