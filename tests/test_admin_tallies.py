"""An agency's remembered rollup sums are always what a fresh read gives: completions (today's
counts) show at once, changes of older days bump the rollup revision, and one reader's sums are
never another's."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from admin.tallies import Tally, TallyMemory, agency_tallies
from core.clock import reporting_day, utcnow
from core.models import AdminRole, DailyRollup, RollupRevision
from core.rollups import add_rollup_rows, first_open_day, note_older_days, rollup_revision
from tests.conftest import Seed

METRICS = ("satisfaction", "responses")


@dataclass(frozen=True)
class Reader:
    role: AdminRole
    agency_id: int | None


ANALYST = Reader(AdminRole.ANALYST, None)


def _today() -> date:
    return reporting_day(utcnow())


def _row(seed: Seed, days_ago: int, value: str, count: int) -> dict[str, Any]:
    return {
        "day": (_today() - timedelta(days=days_ago)).isoformat(),
        "agency_id": seed.agency.id,
        "service_id": seed.service.id,
        "service_point_key": seed.office.id,
        "metric": "satisfaction",
        "value_key": value,
        "count": count,
        "updated_at": utcnow(),
    }


async def _add(factory: async_sessionmaker[AsyncSession], rows: list[dict[str, Any]]) -> None:
    async with factory() as session:
        await add_rollup_rows(session, rows)
        await session.commit()


def _sums(tallies: list[Tally]) -> Counter[tuple[str, str]]:
    found: Counter[tuple[str, str]] = Counter()
    for tally in tallies:
        found[(tally.metric, tally.value)] += tally.count
    return found


async def _read(
    factory: async_sessionmaker[AsyncSession],
    seed: Seed,
    memory: TallyMemory | None,
    reader: Reader = ANALYST,
    since_days: int = 30,
) -> Counter[tuple[str, str]]:
    async with factory() as session:
        since = _today() - timedelta(days=since_days - 1)
        return _sums(
            await agency_tallies(session, reader, seed.agency.id, METRICS, since, None, memory)
        )


async def test_completions_and_older_changes_show_on_the_next_read(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed
) -> None:
    memory = TallyMemory()
    await _add(session_factory, [_row(seed, 10, "5", 3), _row(seed, 0, "2", 1)])
    assert await _read(session_factory, seed, memory) == {
        ("satisfaction", "5"): 3,
        ("satisfaction", "2"): 1,
    }

    await _add(session_factory, [_row(seed, 0, "5", 1)])  # a completion today
    assert await _read(session_factory, seed, memory) == {
        ("satisfaction", "5"): 4,
        ("satisfaction", "2"): 1,
    }

    await _add(session_factory, [_row(seed, 12, "1", 2)])  # an older day: the revision moves
    assert await _read(session_factory, seed, memory) == {
        ("satisfaction", "5"): 4,
        ("satisfaction", "2"): 1,
        ("satisfaction", "1"): 2,
    }


async def test_older_days_are_read_from_memory_until_the_revision_moves(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed
) -> None:
    memory = TallyMemory()
    await _add(session_factory, [_row(seed, 20, "4", 5)])
    assert await _read(session_factory, seed, memory) == {("satisfaction", "4"): 5}
    # a write that breaks the rule (an older day, no revision bump) is not seen from memory...
    async with session_factory() as session:
        await session.execute(update(DailyRollup).values(count=DailyRollup.count + 1))
        await session.commit()
    assert await _read(session_factory, seed, memory) == {("satisfaction", "4"): 5}
    assert await _read(session_factory, seed, None) == {("satisfaction", "4"): 6}
    # ...until something bumps the revision, as every sanctioned writer of older days does
    async with session_factory() as session:
        await note_older_days(session, [(_today() - timedelta(days=30)).isoformat()])
        await session.commit()
    assert await _read(session_factory, seed, memory) == {("satisfaction", "4"): 6}


async def test_only_days_before_the_open_days_move_the_revision(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as session:
        assert await rollup_revision(session) == 0
        await note_older_days(session, [_today().isoformat(), first_open_day().isoformat()])
        assert await rollup_revision(session) == 0
        await note_older_days(session, [(first_open_day() - timedelta(days=1)).isoformat()])
        await note_older_days(session, ["2020-01-01", "2020-01-02"])
        assert await rollup_revision(session) == 2


async def test_an_agency_user_never_gets_another_readers_sums(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed
) -> None:
    memory = TallyMemory()
    await _add(session_factory, [_row(seed, 9, "5", 7), _row(seed, 0, "3", 1)])
    expected = {("satisfaction", "5"): 7, ("satisfaction", "3"): 1}
    assert await _read(session_factory, seed, memory) == expected  # remembered for an analyst
    other = Reader(AdminRole.AGENCY, seed.agency.id + 1000)
    assert await _read(session_factory, seed, memory, other) == {}
    stray = Reader(AdminRole.AGENCY, None)
    assert await _read(session_factory, seed, memory, stray) == {}
    own = Reader(AdminRole.AGENCY, seed.agency.id)
    assert await _read(session_factory, seed, memory, own) == expected


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    steps=st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=40),  # days ago written
            st.sampled_from(["1", "3", "5"]),
            st.integers(min_value=-2, max_value=5),  # a flag takes one out: negative
            st.integers(min_value=1, max_value=45),  # the period read afterwards, in days
        ),
        min_size=1,
        max_size=6,
    )
)
async def test_remembered_sums_equal_a_fresh_read(
    session_factory: async_sessionmaker[AsyncSession],
    seed: Seed,
    steps: list[tuple[int, str, int, int]],
) -> None:
    async with session_factory() as session:
        await session.execute(delete(DailyRollup))
        await session.execute(delete(RollupRevision))
        await session.commit()
    memory = TallyMemory()
    for days_ago, value, count, period in steps:
        await _add(session_factory, [_row(seed, days_ago, value, count)])
        remembered = await _read(session_factory, seed, memory, since_days=period)
        assert remembered == await _read(session_factory, seed, None, since_days=period)
