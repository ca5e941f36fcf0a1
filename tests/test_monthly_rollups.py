"""Monthly rollups: every write of the daily counters moves the monthly ones with it, so the
monthly counters always equal the daily ones summed by month (a recomputation), whatever the
order of writes, negative counts (a flagged response taken out), concurrent transactions or a
migration of existing daily rows."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

from core.db import create_engine, create_session_factory
from core.migrate import upgrade_async
from core.models import Agency, AgencyKind, MonthlyRollup, PublicService
from core.rollups import MONTHLY_FROM_DAILY, MONTHLY_KEY, add_rollup_rows, monthly_rows
from tests import conftest, services
from tests.db_backends import both_databases_fixture  # noqa: F401

Key = tuple[str, int, int, str, str]


async def _services(session: AsyncSession) -> tuple[int, list[int]]:
    agency = Agency(code="MJ", kind=AgencyKind.CENTRAL, name_kk="Ә", name_ru="Ю", name_en="J")
    session.add(agency)
    await session.flush()
    found = [
        PublicService(code=code, agency_id=agency.id, name_kk=code, name_ru=code, name_en=code)
        for code in ("S1", "S2")
    ]
    session.add_all(found)
    await session.flush()
    return agency.id, [service.id for service in found]


def _row(day: str, agency: int, service: int, office: int, metric: str, value: str, count: int):  # type: ignore[no-untyped-def]
    return {
        "day": day,
        "agency_id": agency,
        "service_id": service,
        "service_point_key": office,
        "metric": metric,
        "value_key": value,
        "count": count,
    }


async def _stored(session: AsyncSession) -> dict[Key, int]:
    rows = await session.execute(
        select(
            MonthlyRollup.month,
            MonthlyRollup.service_id,
            MonthlyRollup.service_point_key,
            MonthlyRollup.metric,
            MonthlyRollup.value_key,
            MonthlyRollup.count,
        )
    )
    return {tuple(row[:5]): row[5] for row in rows.all()}  # type: ignore[misc]


async def _recomputed(session: AsyncSession) -> dict[Key, int]:
    rows = await session.execute(text(MONTHLY_FROM_DAILY))
    return {
        (row.month, row.service_id, row.service_point_key, row.metric, row.value_key): int(
            row.count
        )
        for row in rows
    }


async def test_monthly_counters_are_the_daily_ones_summed_by_month(
    both_databases: async_sessionmaker[AsyncSession],
) -> None:
    async with both_databases() as session:
        agency, (s1, s2) = await _services(session)
        # one write: two days of January at one office (same monthly key, summed), February
        await add_rollup_rows(
            session,
            [
                _row("2025-01-10", agency, s1, 0, "satisfaction", "5", 2),
                _row("2025-01-31", agency, s1, 0, "satisfaction", "5", 3),
                _row("2025-02-01", agency, s1, 0, "satisfaction", "5", 1),
                _row("2025-01-10", agency, s2, 7, "responses", "web", 4),
            ],
        )
        await session.commit()
    async with both_databases() as session:
        # later writes: an increment, a new value, and one response taken out (flagged)
        await add_rollup_rows(session, [_row("2025-01-12", agency, s1, 0, "satisfaction", "5", 1)])
        await add_rollup_rows(session, [_row("2025-01-12", agency, s1, 0, "satisfaction", "4", 1)])
        await add_rollup_rows(session, [_row("2025-01-10", agency, s2, 7, "responses", "web", -1)])
        await session.commit()
    async with both_databases() as session:
        stored = await _stored(session)
        assert stored == {
            ("2025-01", s1, 0, "satisfaction", "5"): 6,
            ("2025-01", s1, 0, "satisfaction", "4"): 1,
            ("2025-02", s1, 0, "satisfaction", "5"): 1,
            ("2025-01", s2, 7, "responses", "web"): 3,
        }
        assert stored == await _recomputed(session)
        agencies = set((await session.scalars(select(MonthlyRollup.agency_id))).all())
        assert agencies == {agency}


async def test_a_write_that_fails_leaves_neither_counter_half_written(
    both_databases: async_sessionmaker[AsyncSession],
) -> None:
    async with both_databases() as session:
        agency, (s1, _) = await _services(session)
        await session.commit()
    async with both_databases() as session:
        await add_rollup_rows(session, [_row("2025-03-03", agency, s1, 0, "satisfaction", "5", 1)])
        await session.rollback()  # the completion failed after its rollup write
    async with both_databases() as session:
        assert await _stored(session) == {} == await _recomputed(session)


DAYS = st.sampled_from(["2025-01-01", "2025-01-31", "2025-02-14", "2025-12-31", "2026-01-01"])
DAILY_ROWS = st.lists(
    st.builds(
        _row,
        DAYS,
        st.just(1),
        st.sampled_from([1, 2]),
        st.sampled_from([0, 3]),
        st.sampled_from(["responses", "satisfaction"]),
        st.sampled_from(["4", "5", "web"]),
        st.integers(-3, 50),
    ),
    max_size=40,
)


@given(DAILY_ROWS)
def test_monthly_rows_sum_daily_rows_per_month_in_key_order(rows: list[dict[str, Any]]) -> None:
    expected: Counter[Key] = Counter()
    for row in rows:
        key = (row["day"][:7], row["service_id"], row["service_point_key"], row["metric"])
        expected[(*key, row["value_key"])] += row["count"]
    monthly = monthly_rows(rows)
    assert {tuple(row[column] for column in MONTHLY_KEY): row["count"] for row in monthly} == dict(
        expected
    )
    keys = [tuple(row[column] for column in MONTHLY_KEY) for row in monthly]
    assert keys == sorted(set(keys))  # one row per key, in the order writers lock them
    assert all("day" not in row and row["agency_id"] == 1 for row in monthly)


@pytest.fixture
async def postgres_sessions(
    postgres_database: str | None,
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    if postgres_database is None:
        services.require_postgres_url()  # skips (or fails in CI)
    url = str(postgres_database)
    cleaner = create_async_engine(url)
    await conftest._truncate(cleaner)
    await cleaner.dispose()
    engine = create_engine(url)
    yield create_session_factory(engine)
    await engine.dispose()


@pytest.mark.postgres
async def test_concurrent_writers_keep_the_monthly_counters_exact(
    postgres_sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with postgres_sessions() as session:
        agency, (s1, s2) = await _services(session)
        await session.commit()
    writers, writes = 12, 15

    async def writer(number: int) -> None:
        # every writer hits the same monthly rows from days of its own and shared ones
        for write in range(writes):
            day = f"2025-05-{1 + (number + write) % 28:02d}"
            async with postgres_sessions() as session:
                await add_rollup_rows(
                    session,
                    [
                        _row(day, agency, s1, 0, "responses", "telegram", 1),
                        _row(day, agency, s1, 0, "satisfaction", str(4 + write % 2), 1),
                        _row(day, agency, s2, 0, "satisfaction", "5", 2),
                    ],
                )
                await session.commit()

    await asyncio.gather(*(writer(number) for number in range(writers)))
    async with postgres_sessions() as session:
        stored = await _stored(session)
        assert stored == await _recomputed(session)
    total = writers * writes
    assert stored[("2025-05", s1, 0, "responses", "telegram")] == total
    five = writers * len(range(1, writes, 2))
    assert stored[("2025-05", s1, 0, "satisfaction", "5")] == five
    assert stored[("2025-05", s1, 0, "satisfaction", "4")] == total - five
    assert stored[("2025-05", s2, 0, "satisfaction", "5")] == 2 * total


async def test_the_migration_fills_the_monthly_counters_from_existing_daily_ones(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'migrated.sqlite3'}"
    await upgrade_async(url, "0009_complaints")
    engine = create_async_engine(url, poolclass=NullPool)
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO agency (id, code, kind, name_kk, name_ru, name_en, language) "
                "VALUES (1, 'MJ', 'central', 'a', 'a', 'a', 'kk')"
            )
        )
        await connection.execute(
            text(
                "INSERT INTO public_service (id, code, agency_id, name_kk, name_ru, name_en, "
                "survey_id) VALUES (1, 'S1', 1, 's', 's', 's', 'post_service')"
            )
        )
        await connection.execute(
            text(
                "INSERT INTO daily_rollup (day, agency_id, service_id, service_point_key, "
                "metric, value_key, count) VALUES (:day, 1, 1, 0, 'satisfaction', '5', :count)"
            ),
            [
                {"day": "2025-01-02", "count": 2},
                {"day": "2025-01-30", "count": 3},
                {"day": "2025-02-01", "count": 4},
            ],
        )
    await engine.dispose()
    await upgrade_async(url)
    migrated = create_engine(url)
    async with create_session_factory(migrated)() as session:
        stored = await _stored(session)
        recomputed = await _recomputed(session)
    await migrated.dispose()
    assert stored == {
        ("2025-01", 1, 0, "satisfaction", "5"): 5,
        ("2025-02", 1, 0, "satisfaction", "5"): 4,
    }
    assert stored == recomputed
