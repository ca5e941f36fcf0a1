"""An agency's summary built from the database: complaints filed through the complaint desk,
periods of the Kazakhstan calendar, deadlines in its working days; numbers checked by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pandas as pd
from hypothesis import example, given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from admin.summaries import (
    SummaryPeriod,
    WorkingDaysLeft,
    agency_language,
    agency_summary,
    deadline_moments,
)
from core.clock import REPORTING_TZ
from core.complaints import answer, move_to
from core.models import (
    Agency,
    AgencyKind,
    ComplaintStatus,
    PublicService,
    ServicePoint,
)
from core.working_days import kazakhstan_calendar
from scoring.complaint_summary import Count
from scoring.summary_render import render_summary
from tests import summary_fixtures
from tests.conftest import Seed
from tests.summary_fixtures import file_complaint

NOW = summary_fixtures.NOW
KZ = kazakhstan_calendar()


def test_weeks_run_monday_to_monday_and_months_by_the_calendar() -> None:
    week = SummaryPeriod.last_closed("weekly", NOW)
    assert (week.start, week.end, week.last_day) == (
        date(2026, 11, 23),
        date(2026, 11, 30),
        date(2026, 11, 29),
    )
    # 30 November 20:00 UTC is already 1 December in Kazakhstan
    assert SummaryPeriod.last_closed("monthly", NOW + timedelta(hours=8)) == SummaryPeriod(
        "monthly", date(2026, 11, 1), date(2026, 12, 1)
    )
    assert SummaryPeriod.last_closed("monthly", NOW).start == date(2026, 10, 1)
    december = SummaryPeriod.containing("monthly", date(2026, 12, 31))
    assert december.next() == SummaryPeriod("monthly", date(2027, 1, 1), date(2027, 2, 1))
    assert [p.start for p in december.earlier(3)] == [
        date(2026, 9, 1),
        date(2026, 10, 1),
        date(2026, 11, 1),
    ]
    start, end = week.bounds()
    assert start == datetime(2026, 11, 22, 19, 0, tzinfo=UTC)
    assert end - start == timedelta(days=7)
    assert week.has_ended(NOW) and not week.next().has_ended(NOW)


@given(
    kind=st.sampled_from(["weekly", "monthly"]),
    day=st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)),
)
def test_periods_tile_the_calendar(kind: str, day: date) -> None:
    period = SummaryPeriod.containing(kind, day)  # type: ignore[arg-type]
    assert period.start <= day < period.end
    assert period.previous().end == period.start
    assert period.next().start == period.end
    assert period.next().previous() == period
    if kind == "weekly":
        assert period.start.weekday() == 0 and (period.end - period.start).days == 7
    else:
        assert period.start.day == 1 and period.end.day == 1
        assert 28 <= (period.end - period.start).days <= 31


@given(
    today=st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 12, 31)),
    ahead=st.lists(st.integers(min_value=-20, max_value=60), min_size=1, max_size=8),
)
@example(today=date(2025, 1, 1), ahead=[4])  # Sunday 5 January 2025 was decreed a working day
def test_working_days_left_count_as_the_deadline_job_does(today: date, ahead: list[int]) -> None:
    deadlines = [today + timedelta(days=days) for days in ahead]
    moments = deadline_moments(pd.Series([*deadlines, None]))
    now = pd.Timestamp(datetime.combine(today, time(12), tzinfo=REPORTING_TZ))
    left = WorkingDaysLeft(KZ)(now, moments)
    expected = [KZ.working_days_between(today, deadline) for deadline in deadlines]
    assert left.iloc[:-1].tolist() == expected
    assert pd.isna(left.iloc[-1])


async def test_the_summary_counts_the_period_by_kazakh_days_with_working_day_deadlines(
    seed: Seed, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async with session_factory() as session:
        agency = await session.get(Agency, seed.agency.id)
        assert agency is not None
        other_service = await session.scalar(
            select(PublicService).where(PublicService.code == "ALA-S2")
        )
        assert other_service is not None
        stranger = Agency(
            code="MJ", kind=AgencyKind.CENTRAL, name_kk="ӘМ", name_ru="МЮ", name_en="MoJ"
        )
        session.add(stranger)
        await session.flush()
        stranger_service = PublicService(
            code="MJ-S1", agency_id=stranger.id, name_kk="a", name_ru="б", name_en="c"
        )
        session.add(stranger_service)
        await session.commit()

        s1, office = seed.service, seed.office
        # the week before: two complaints
        for day in (16, 20):
            await file_complaint(
                session, s1, office, "waiting_time", datetime(2026, 11, day, 6, tzinfo=UTC)
            )
        # Monday 23 November 03:00 in Kazakhstan (still the 22nd in UTC): this week; its
        # deadline moved to the 25th, still open on the 30th: overdue
        overdue = await file_complaint(
            session, s1, office, "extra_documents", datetime(2026, 11, 22, 22, tzinfo=UTC)
        )
        overdue.deadline = date(2026, 11, 25)
        # deadline Wednesday 2 December: 2 working days after the 30th, about to breach
        soon = await file_complaint(
            session, s1, office, "extra_documents", datetime(2026, 11, 24, 6, tzinfo=UTC)
        )
        soon.deadline = date(2026, 12, 2)
        # deadline today: not late yet (the deadline day itself is allowed), due soon
        today = await file_complaint(
            session, other_service, None, "rudeness", datetime(2026, 11, 25, 6, tzinfo=UTC)
        )
        today.deadline = date(2026, 11, 30)
        move_to(
            session, today, ComplaintStatus.IN_REVIEW, "staff", datetime(2026, 11, 26, tzinfo=UTC)
        )
        # answered on the 27th after a deadline of the 26th (late), rated 4
        late = await file_complaint(
            session, s1, office, "rudeness", datetime(2026, 11, 25, 8, tzinfo=UTC)
        )
        late.deadline = date(2026, 11, 26)
        answer(session, late, "Кешіріңіз", "staff", datetime(2026, 11, 27, 5, tzinfo=UTC))
        late.answer_rating = 4
        await session.commit()
        # Monday 30 November 01:00 in Kazakhstan: next week; another agency's: not counted
        await file_complaint(session, s1, office, "other", datetime(2026, 11, 29, 20, tzinfo=UTC))
        await file_complaint(
            session, stranger_service, None, "other", datetime(2026, 11, 24, 6, tzinfo=UTC)
        )

        week = SummaryPeriod.last_closed("weekly", NOW)
        summary = await agency_summary(session, agency, week, NOW)

    assert agency_language(agency) == "kk"
    assert summary.agency == "Алматы қаласының әкімдігі"
    assert (summary.period_start, summary.period_end) == (date(2026, 11, 23), date(2026, 11, 30))
    assert (summary.total, summary.previous_total, summary.change) == (4, 2, 2)
    assert summary.change_share == 1.0
    assert summary.by_category == (Count("extra_documents", 2), Count("rudeness", 2))
    assert summary.by_service == (
        Count("Балабақшаға кезекке қою", 3),
        Count("Жер учаскесін беру", 1),
    )
    assert summary.by_office == (Count("№1 ХҚКО", 3), Count("", 1))
    deadlines = summary.deadlines
    assert (deadlines.answered_late, deadlines.open_overdue, deadlines.due_soon) == (1, 1, 2)
    assert deadlines.breached == 2
    assert (summary.rating.mean, summary.rating.n) == (4.0, 1)
    assert summary.themes == ()  # four texts are too few to group
    assert summary.over_represented == ()  # two earlier complaints are no baseline to test

    text = render_summary(summary, "kk")
    assert "Шағымдар: 4 (алдыңғы кезеңде 2, +2, +100%)" in text
    assert "№1 ХҚКО: 3" in text

    # in Russian, the names too; a month holds both weeks
    async with session_factory() as session:
        agency = await session.get(Agency, seed.agency.id)
        assert agency is not None
        month = SummaryPeriod.containing("monthly", date(2026, 11, 1))
        monthly = await agency_summary(session, agency, month, NOW, lang="ru")
    assert monthly.agency == "Акимат города Алматы"
    assert monthly.total == 7 and monthly.previous_total == 0
    assert Count("ЦОН №1", 6) in monthly.by_office


async def test_an_agency_without_complaints_gets_the_short_message(
    seed: Seed, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async with session_factory() as session:
        agency = await session.get(Agency, seed.agency.id)
        assert agency is not None
        agency.language = "ru"
        await session.commit()
        await file_complaint(
            session, seed.service, seed.office, "other", datetime(2026, 11, 18, 6, tzinfo=UTC)
        )
        summary = await agency_summary(
            session, agency, SummaryPeriod.last_closed("weekly", NOW), NOW
        )
    assert summary.is_empty and summary.previous_total == 1
    assert render_summary(summary, agency_language(agency)).splitlines() == [
        "Сводка жалоб: Акимат города Алматы, 2026-11-23 – 2026-11-29",
        "За этот период жалоб не поступило. В предыдущем периоде: 1.",
    ]


async def test_an_office_over_represented_three_weeks_running_is_persistent(
    seed: Seed, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async with session_factory() as session:
        agency = await session.get(Agency, seed.agency.id)
        assert agency is not None
        second = ServicePoint(
            code="ALA-02", agency_id=agency.id, name_kk="№2 ХҚКО", name_ru="ЦОН №2", name_en="No 2"
        )
        session.add(second)
        await session.commit()
        week = SummaryPeriod.last_closed("weekly", NOW)
        weeks = [*week.earlier(10), week]
        # eight ordinary weeks (1 complaint about office 1, 4 about office 2), then three with
        # 12 about office 1 and 3 about office 2
        for number, period in enumerate(weeks):
            first_office = 1 if number < 8 else 12
            second_office = 4 if number < 8 else 3
            at = datetime.combine(period.start, datetime.min.time(), tzinfo=UTC) + timedelta(
                hours=6
            )
            for office, times in ((seed.office, first_office), (second, second_office)):
                for _ in range(times):
                    await file_complaint(session, seed.service, office, "waiting_time", at)
        summary = await agency_summary(session, agency, week, NOW)
    assert (summary.total, summary.previous_total) == (15, 15)
    [flagged] = summary.over_represented
    assert (flagged.dimension, flagged.name, flagged.count) == ("office", "№1 ХҚКО", 12)
    assert flagged.share == 0.8
    # baseline: weeks 3-10 pooled, 6 + 24 = 30 of 60, smoothed: 30.5 / 61
    assert flagged.baseline_share == 0.5
    assert flagged.p_value < 0.02 and flagged.q_value <= 0.05
    assert flagged.periods_in_row == 3 and flagged.persistent
    assert summary.persistent == (flagged,)
