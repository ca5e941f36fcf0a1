"""Open-data scoring inputs on hand-counted numbers, on SQLite and PostgreSQL: ratings, the
satisfied and verifiable shares, problem reports due / resolved in time / open, the registry's
planned and published sets; one person's two ratings of a set on one day count once. And the
complaint readers keep data-set problem reports apart from service complaints."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pandas as pd
import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.complaints import ComplaintDesk, complaints_frame
from core.dataset_inputs import dataset_inputs
from core.indicator_file import IndicatorRow
from core.indicators import store_indicators
from core.models import (
    Agency,
    AgencyKind,
    Complaint,
    ComplaintStatus,
    Dataset,
    DatasetRating,
    DatasetState,
    RatingStatus,
    Respondent,
)
from core.periods import parse_period
from qanagat.scores import database_inputs
from tests.conftest import Seed
from tests.dataset_fixtures import add_dataset, add_respondent, problem_report, rating
from tests.db_backends import both_databases_fixture  # noqa: F401

Q1 = parse_period("2025-Q1")


def _values(frame: pd.DataFrame) -> dict[tuple[str, str], float]:
    return {(row.agency, row.input): row.value for row in frame.itertuples()}


def _at(day: date, hour: int = 12) -> datetime:
    """`hour` o'clock in Kazakhstan on `day`, in UTC."""
    return datetime(day.year, day.month, day.day, hour - 5, tzinfo=UTC)


async def _world(session: AsyncSession) -> dict[str, Agency]:
    agencies = {
        code: Agency(code=code, kind=kind, name_kk=code, name_ru=code, name_en=code)
        for code, kind in (("MJ", AgencyKind.CENTRAL), ("ALA", AgencyKind.LOCAL))
    }
    session.add_all(agencies.values())
    await session.flush()
    return agencies


async def test_the_inputs_of_a_quarter_on_hand_counted_numbers(
    both_databases: async_sessionmaker[AsyncSession],
) -> None:
    async with both_databases() as session:
        agencies = await _world(session)
        mj, ala = agencies["MJ"], agencies["ALA"]
        notaries = await add_dataset(session, mj, "MJ-1")
        courts = await add_dataset(session, mj, "MJ-2")
        await add_dataset(session, mj, "MJ-3", state=DatasetState.PLANNED)
        await add_dataset(session, mj, "MJ-4", state=DatasetState.WITHDRAWN)
        await add_dataset(session, ala, "ALA-1", state=DatasetState.PLANNED)
        people = [await add_respondent(session, f"k{i}") for i in range(6)]
        march = date(2025, 3, 10)
        session.add_all(
            [
                rating(notaries, march, 5, True, people[0]),
                rating(notaries, march, 4, False, people[1]),
                rating(notaries, date(2025, 1, 1), 2, True, people[0]),  # another day: counts
                rating(courts, march, 3, None, people[2]),  # verifiable not answered
                rating(courts, march, None, True, people[3]),  # overall not answered
                # not counted: in progress, or outside the quarter
                rating(courts, march, 5, True, people[4], status=RatingStatus.IN_PROGRESS),
                rating(courts, date(2025, 4, 1), 5, True, people[5]),
                rating(courts, date(2024, 12, 31), 5, True, people[5]),
            ]
        )
        # problem reports of MJ (deadlines in Kazakhstan days)
        problem_report(
            session,
            notaries,
            _at(date(2025, 3, 3)),
            date(2025, 3, 14),
            answered=_at(date(2025, 3, 14), 20),
        )  # due, in time (20:00 that day)
        problem_report(
            session,
            notaries,
            _at(date(2025, 3, 3)),
            date(2025, 3, 14),
            answered=_at(date(2025, 3, 15), 9),
        )  # due, answered a day late
        problem_report(
            session,
            courts,
            _at(date(2025, 3, 20)),
            date(2025, 3, 31),
            closed=_at(date(2025, 3, 25)),
        )  # due, closed in time without an answer
        problem_report(session, courts, _at(date(2025, 3, 25)), date(2025, 4, 8))  # open
        problem_report(
            session,
            courts,
            _at(date(2024, 12, 20)),
            date(2025, 1, 9),
            answered=_at(date(2024, 12, 30)),
        )  # due in Q1, resolved before it
        problem_report(session, courts, _at(date(2025, 4, 2)), date(2025, 4, 15))  # after Q1
        await session.commit()  # fmt: skip

    async with both_databases() as session:
        values = _values(await dataset_inputs(session, Q1))
    assert values == {
        # 5 completed ratings in Q1; overall 5, 4, 2, 3 answered (2 satisfied); verifiable
        # True, False, True, True answered (3 of 4)
        ("MJ", "dataset_ratings"): 5.0,
        ("MJ", "dataset_satisfied_share"): pytest.approx(2 / 4),
        ("MJ", "dataset_verifiable_share"): pytest.approx(3 / 4),
        # deadlines in Q1: 14.03, 14.03, 31.03, 09.01; resolved by then: 3 (not the late one)
        ("MJ", "dataset_problems_due"): 4.0,
        ("MJ", "dataset_problems_resolved_in_time"): 3.0,
        # received before 1 April, unresolved at its start: the one of 25 March
        ("MJ", "dataset_problems_open"): 1.0,
        # planned = planned + published (withdrawn counts in neither)
        ("MJ", "open_data_planned"): 3.0,
        ("MJ", "open_data_published"): 2.0,
        # ALA: a planned set, nothing rated or reported: zeros, no ratings, no shares
        ("ALA", "dataset_problems_due"): 0.0,
        ("ALA", "dataset_problems_resolved_in_time"): 0.0,
        ("ALA", "dataset_problems_open"): 0.0,
        ("ALA", "open_data_planned"): 1.0,
        ("ALA", "open_data_published"): 0.0,
    }


async def test_rating_a_set_twice_on_one_day_counts_once(
    both_databases: async_sessionmaker[AsyncSession],
) -> None:
    march = date(2025, 3, 10)
    async with both_databases() as session:
        mj = (await _world(session))["MJ"]
        notaries = await add_dataset(session, mj, "MJ-1")
        person = await add_respondent(session, "k1")
        session.add(rating(notaries, march, 2, False, person))
        await session.commit()
        ids = (notaries.id, person.id)
        # the database refuses a second row for the same person, set and day
        session.add(rating(notaries, march, 5, True, person))
        with pytest.raises(IntegrityError):
            await session.commit()
        await session.rollback()
        notaries = await session.get(Dataset, ids[0])
        person = await session.get(Respondent, ids[1])
        assert notaries is not None and person is not None
        # the second rating replaces the first, as the flows do: the same row, new answers
        first = await session.scalar(select(DatasetRating))
        assert first is not None
        first.overall, first.verifiable = 5, True
        first.answers = {"overall": 5, "verifiable": True}
        # the next day is another rating
        session.add(rating(notaries, march + timedelta(days=1), 1, False, person))
        await session.commit()
    async with both_databases() as session:
        values = _values(await dataset_inputs(session, Q1))
    assert values[("MJ", "dataset_ratings")] == 2.0
    assert values[("MJ", "dataset_satisfied_share")] == pytest.approx(1 / 2)
    assert values[("MJ", "dataset_verifiable_share")] == pytest.approx(1 / 2)


async def test_the_registry_replaces_the_portals_reported_figures_of_its_agencies(
    both_databases: async_sessionmaker[AsyncSession],
) -> None:
    async with both_databases() as session:
        mj = (await _world(session))["MJ"]
        await add_dataset(session, mj, "MJ-1")
        await add_dataset(session, mj, "MJ-2", state=DatasetState.PLANNED)
        await store_indicators(
            session,
            [
                IndicatorRow(2, "MJ", "2025-Q1", "open_data_planned", 40, None),
                IndicatorRow(3, "MJ", "2025-Q1", "open_data_published", 30, None),
                IndicatorRow(4, "ALA", "2025-Q1", "open_data_planned", 20, None),
                IndicatorRow(5, "ALA", "2025-Q1", "open_data_published", 10, None),
            ],
            "portal.csv",
        )
        await session.commit()
    async with both_databases() as session:
        inputs, _ = await database_inputs(session, Q1)
    values = _values(inputs)
    assert (values[("MJ", "open_data_planned")], values[("MJ", "open_data_published")]) == (2, 1)
    # ALA has no set in the registry: the portal's figures stay
    assert (values[("ALA", "open_data_planned")], values[("ALA", "open_data_published")]) == (
        20,
        10,
    )
    assert (
        len(inputs.loc[(inputs["agency"] == "MJ") & (inputs["input"] == "open_data_planned")]) == 1
    )


# --- the complaint readers and data-set problem reports ---------------------------------------


async def test_a_complaint_is_about_a_service_or_a_data_set_never_both_nor_neither(
    seed: Seed, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async with session_factory() as session:
        dataset = await add_dataset(session, seed.agency, "ALA-1")
        await session.commit()
        for service_id, dataset_id in ((seed.service.id, dataset.id), (None, None)):
            session.add(
                Complaint(
                    reference=f"Q-AAAAAAA{2 if service_id else 3}",
                    agency_id=seed.agency.id,
                    service_id=service_id,
                    dataset_id=dataset_id,
                    language="kk",
                    status=ComplaintStatus.RECEIVED,
                    created_at=_at(date(2025, 3, 3)),
                    updated_at=_at(date(2025, 3, 3)),
                )
            )
            with pytest.raises(IntegrityError):
                await session.commit()
            await session.rollback()


async def test_service_complaint_readers_leave_problem_reports_out_or_name_them(
    seed: Seed, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    from admin.complaints import Filters, complaint_list
    from core.models import AdminRole

    async with session_factory() as session:
        dataset = await add_dataset(session, seed.agency, "ALA-1", title_ru="Детские сады")
        person = await add_respondent(session, "k1")
        report = problem_report(session, dataset, _at(date(2025, 3, 3)), date(2025, 3, 14))
        report.respondent_id = person.id
        draft = problem_report(session, dataset, _at(date(2025, 3, 4)), date(2025, 3, 14))
        draft.status = ComplaintStatus.DRAFT
        draft.respondent_id = person.id
        await session.commit()
        # the weekly summaries read service complaints only
        frame = await complaints_frame(session, None, _at(date(2025, 3, 1)), _at(date(2025, 3, 31)))
        assert frame.empty
        # the service complaint desk does not resume a draft problem report
        assert await ComplaintDesk(session).latest_draft(person) is None
        # the admin list shows the report with its data set and problem
        reader = SimpleNamespace(role=AdminRole.ADMIN, agency_id=None)
        [view] = await complaint_list(session, reader, Filters(), "ru", date(2025, 3, 20))
        assert view.reference == report.reference
        assert (view.service_name, view.office_name, view.category) == ("Детские сады", None, None)
        assert view.problem is not None and view.problem.value == "outdated"
        assert view.overdue
