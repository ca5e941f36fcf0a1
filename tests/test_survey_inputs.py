"""Survey-derived scoring inputs read from the daily rollups, on SQLite and PostgreSQL: hand-
computed shares per period, agency, service and office, and the real completion path."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.engine.conversation import Conversation
from bot.engine.flow import Ask
from bot.opening import UnitAnswers
from core.clock import reporting_day, utcnow
from core.integrity import ledger
from core.models import Agency, AgencyKind, PublicService, ServicePoint
from core.periods import Period, PeriodError, parse_period
from core.rollups import add_rollup_rows
from core.survey_inputs import survey_inputs
from core.unit_of_work import UnitOfWork
from tests.conftest import LENIENT, Seed
from tests.db_backends import both_databases_fixture  # noqa: F401
from tests.test_storage import open_survey

# (day, service, office?, metric, value, count); two days in 2025, one on each side of it
ROLLUPS = [
    ("2025-01-10", "S1", True, "responses", "telegram", 3),
    ("2025-01-10", "S1", True, "responses", "web", 1),
    ("2025-01-10", "S1", True, "satisfaction", "5", 2),
    ("2025-01-10", "S1", True, "satisfaction", "4", 1),
    ("2025-01-10", "S1", True, "satisfaction", "2", 1),
    ("2025-01-10", "S1", True, "info_quality", "3", 2),
    ("2025-01-10", "S1", True, "info_quality", "4", 2),
    ("2025-01-10", "S1", True, "unjustified_refusal", "yes", 1),
    ("2025-01-10", "S1", True, "unjustified_refusal", "no", 3),
    ("2025-01-10", "S1", True, "extra_documents_demanded", "yes", 2),
    ("2025-01-10", "S1", True, "extra_documents_demanded", "no", 2),
    ("2025-01-10", "S1", True, "full_package_once", "yes", 3),
    ("2025-01-10", "S1", True, "full_package_once", "no", 1),
    ("2025-01-10", "S1", True, "problem_reason", "rudeness", 1),
    ("2025-06-30", "S2", False, "responses", "web", 2),
    ("2025-06-30", "S2", False, "satisfaction", "1", 2),
    ("2025-06-30", "S2", False, "info_quality", "5", 1),
    ("2025-06-30", "S2", False, "info_quality", "1", 1),
    ("2025-06-30", "S2", False, "unjustified_refusal", "no", 2),
    ("2025-06-30", "S2", False, "extra_documents_demanded", "no", 2),
    ("2025-06-30", "S2", False, "full_package_once", "yes", 2),
    ("2024-12-31", "S1", True, "responses", "web", 5),
    ("2024-12-31", "S1", True, "satisfaction", "5", 5),
    ("2026-01-01", "S2", False, "responses", "web", 7),
    ("2026-01-01", "S2", False, "satisfaction", "5", 7),
    ("2024-05-05", "B1", False, "responses", "web", 9),
]


async def _seed(factory: async_sessionmaker[AsyncSession]) -> None:
    async with factory() as session:
        mj = Agency(code="MJ", kind=AgencyKind.CENTRAL, name_kk="Ә", name_ru="Ю", name_en="J")
        other = Agency(code="AST", kind=AgencyKind.LOCAL, name_kk="А", name_ru="А", name_en="A")
        session.add_all([mj, other])
        await session.flush()
        office = ServicePoint(code="MJ-01", agency_id=mj.id, name_kk="1", name_ru="1", name_en="1")
        services = {
            code: PublicService(
                code=code, agency_id=agency.id, name_kk=code, name_ru=code, name_en=code
            )
            for code, agency in (("S1", mj), ("S2", mj), ("B1", other))
        }
        session.add_all([office, *services.values()])
        await session.flush()
        await add_rollup_rows(
            session,
            [
                {
                    "day": day,
                    "agency_id": services[service].agency_id,
                    "service_id": services[service].id,
                    "service_point_key": office.id if at_office else 0,
                    "metric": metric,
                    "value_key": value,
                    "count": count,
                }
                for day, service, at_office, metric, value, count in ROLLUPS
            ],
        )
        await session.commit()


def _as_dict(frame, *keys: str) -> dict[tuple[str, ...], float]:  # type: ignore[no-untyped-def]
    return {tuple(row[k] for k in keys): row["value"] for row in frame.to_dict(orient="records")}


@pytest.mark.parametrize(
    ("period", "expected"),
    [
        (
            "2025",
            {
                "responses": 6,
                "satisfied_share": 3 / 6,
                "info_satisfied_share": 3 / 6,
                "unjustified_refusal_rate": 1 / 6,
                "extra_documents_rate": 2 / 6,
                "full_package_once_rate": 5 / 6,
            },
        ),
        (
            "2025-Q1",
            {
                "responses": 4,
                "satisfied_share": 3 / 4,
                "info_satisfied_share": 2 / 4,
                "unjustified_refusal_rate": 1 / 4,
                "extra_documents_rate": 2 / 4,
                "full_package_once_rate": 3 / 4,
            },
        ),
        (
            "2025-06",
            {
                "responses": 2,
                "satisfied_share": 0,
                "info_satisfied_share": 1 / 2,
                "unjustified_refusal_rate": 0,
                "extra_documents_rate": 0,
                "full_package_once_rate": 1,
            },
        ),
    ],
)
async def test_survey_inputs_of_a_period_are_shares_of_its_answers(
    both_databases: async_sessionmaker[AsyncSession], period: str, expected: dict[str, float]
) -> None:
    await _seed(both_databases)
    async with both_databases() as session:
        frame = await survey_inputs(session, parse_period(period))
    assert list(frame.columns) == ["agency", "period", "input", "value"]
    assert set(frame["period"]) == {period}
    # the other agency answered only in 2024: it is absent, not zero
    assert set(frame["agency"]) == {"MJ"}
    got = {name: value for (_, name), value in _as_dict(frame, "agency", "input").items()}
    assert got == pytest.approx(expected, abs=1e-12)


async def test_survey_inputs_per_service_and_office(
    both_databases: async_sessionmaker[AsyncSession],
) -> None:
    await _seed(both_databases)
    async with both_databases() as session:
        frame = await survey_inputs(session, parse_period("2025"), by=("service", "office"))
    got = _as_dict(frame, "service", "office", "input")
    assert got[("S1", "MJ-01", "responses")] == 4
    assert got[("S1", "MJ-01", "satisfied_share")] == pytest.approx(3 / 4)
    assert got[("S2", "", "responses")] == 2  # eGov / proactive answers have no office
    assert got[("S2", "", "info_satisfied_share")] == pytest.approx(1 / 2)


async def test_a_period_of_part_months_is_read_from_the_daily_rollups(
    both_databases: async_sessionmaker[AsyncSession],
) -> None:
    # 10 January to 29 June: the January day is in, the last day of June out (so only Q1's)
    await _seed(both_databases)
    part = Period("part", date(2025, 1, 10), date(2025, 6, 30))
    async with both_databases() as session:
        frame = await survey_inputs(session, part)
        quarter = await survey_inputs(session, parse_period("2025-Q1"))
    assert frame.drop(columns="period").equals(quarter.drop(columns="period"))
    assert _as_dict(frame, "agency", "input")[("MJ", "responses")] == 4


async def test_a_period_without_rollups_gives_no_rows(
    both_databases: async_sessionmaker[AsyncSession],
) -> None:
    await _seed(both_databases)
    async with both_databases() as session:
        frame = await survey_inputs(session, parse_period("2023"))
    assert frame.empty and list(frame.columns) == ["agency", "period", "input", "value"]


async def test_completed_surveys_feed_the_inputs_through_the_real_rollups(
    session_factory: async_sessionmaker[AsyncSession], make_invitation, seed: Seed
) -> None:
    # two citizens: one happy (5s, no defects), one unhappy (1s, refused, extra documents)
    for user, (rating, yes) in enumerate((("5", "no"), ("1", "yes")), start=1):
        token = await make_invitation()
        async with session_factory() as session:
            store = UnitOfWork(session)
            response = await open_survey(store, token, user=user)
            conversation = await Conversation.resume(seed.survey, UnitAnswers(store), response.id)
            step = conversation.current()
            while isinstance(step, Ask):
                question = step.question
                raw = {"rating": rating, "yes_no": yes}.get(question.type.value)
                if question.name == "full_package":
                    raw = "yes" if rating == "5" else "no"
                if question.name == "complaint":
                    raw = "no"
                if question.type.value == "select_multiple":
                    raw = ["rudeness"]
                if question.type.value == "select_one":
                    raw = "egov"
                step = await conversation.answer(question.name, raw)
    await ledger.seal_all(session_factory, LENIENT)  # the chain keeper counts them within a second
    year = str(reporting_day(utcnow()).year)
    async with session_factory() as session:
        frame = await survey_inputs(session, parse_period(year))
    got = {name: value for (_, name), value in _as_dict(frame, "agency", "input").items()}
    assert got == pytest.approx(
        {
            "responses": 2,
            "satisfied_share": 0.5,
            "info_satisfied_share": 0.5,
            "unjustified_refusal_rate": 0.5,
            "extra_documents_rate": 0.5,
            "full_package_once_rate": 0.5,
        }
    )


@pytest.mark.parametrize(
    ("text", "first", "end"),
    [
        ("2025", "2025-01-01", "2026-01-01"),
        (" 2025-Q4 ", "2025-10-01", "2026-01-01"),
        ("2025-Q1", "2025-01-01", "2025-04-01"),
        ("2025-12", "2025-12-01", "2026-01-01"),
        ("2024-02", "2024-02-01", "2024-03-01"),
    ],
)
def test_periods_are_years_quarters_and_months(text: str, first: str, end: str) -> None:
    period = parse_period(text)
    assert (period.name, period.first.isoformat(), period.end.isoformat()) == (
        text.strip(),
        first,
        end,
    )


@pytest.mark.parametrize("text", ["25", "2025-13", "2025-Q5", "2025Q1", "2025-1", "", "year"])
def test_bad_periods_say_what_a_period_looks_like(text: str) -> None:
    with pytest.raises(PeriodError, match="a quarter"):
        parse_period(text)


@given(st.text(max_size=12))
def test_any_text_is_a_period_or_a_clear_refusal(text: str) -> None:
    try:
        period = parse_period(text)
    except PeriodError as error:
        assert "is not a period" in str(error)  # noqa: PT017
    else:
        assert period.first < period.end and period.contains(period.first)
        assert not period.contains(period.end)


@given(st.integers(1900, 2999), st.integers(1, 12))
def test_the_months_of_a_year_tile_its_quarters_and_the_year(year: int, month: int) -> None:
    month_period = parse_period(f"{year}-{month:02d}")
    quarter = parse_period(f"{year}-Q{(month - 1) // 3 + 1}")
    whole = parse_period(str(year))
    assert whole.first <= quarter.first <= month_period.first
    assert month_period.end <= quarter.end <= whole.end
    assert (whole.end - whole.first).days in (365, 366)
