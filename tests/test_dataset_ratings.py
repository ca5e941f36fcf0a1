"""The storage side of data-set ratings, through its public calls: titles matched as typed, deep
links, one rating per person, set and day, each answer stored once and only into an open rating
of its owner, and a survey the data-set channels could not show refused at start."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.datasets import DatasetDesk
from bot.engine.definition import SurveyError, parse_survey
from core.dataset_ratings import (
    DatasetRatings,
    RatingAnswers,
    RatingClosed,
    matches,
    payload_for,
    problems_frame,
)
from core.models import Channel, Dataset, DatasetState, RatingStatus, UpdateFrequency
from core.unit_of_work import UnitOfWork
from scoring.complaint_summary import COLUMNS, PROBLEM_COLUMNS, load_summary_rules, summarise
from scoring.summary_render import render_summary
from tests.conftest import LENIENT, SURVEYS, Seed
from tests.dataset_flow_fixtures import Registry, add_registry, ratings, reports

DESK = DatasetDesk.from_surveys(SURVEYS, lambda text: text, LENIENT)


def titled(kk: str, ru: str, en: str | None = None, external_id: str = "x") -> Dataset:
    now = datetime.now(UTC)
    return Dataset(
        agency_id=1,
        external_id=external_id,
        title_kk=kk,
        title_ru=ru,
        title_en=en,
        url="https://data.egov.kz",
        update_frequency=UpdateFrequency.YEARLY,
        state=DatasetState.PUBLISHED,
        created_at=now,
        updated_at=now,
    )


def test_titles_match_every_word_typed_in_any_language_and_case() -> None:
    schools = titled("Алматы қаласының МЕКТЕПТЕРІ", "Школы города Алматы (2025 год)", "Schools")
    assert matches(schools, "мектептері")
    assert matches(schools, "  ШКОЛЫ   алматы ")
    assert matches(schools, "schools алматы")
    assert matches(titled("Ёлки", "Ёлки"), "елки")
    assert not matches(schools, "школы астаны")
    assert not matches(schools, "")


@given(st.text(max_size=300))
def test_any_typed_text_is_matched_or_not_never_a_crash(typed: str) -> None:
    assert matches(titled("Мектептер", "Школы", None), typed) in (True, False)


def test_deep_link_payloads_fit_telegram_by_external_id_or_else_by_id() -> None:
    assert payload_for(titled("а", "б", external_id="ala_schools-2026")) == "ds-ala_schools-2026"
    odd = titled("а", "б", external_id="ala/schools 2026")
    odd.id = 17
    assert payload_for(odd) == "ds-_17"
    long = titled("а", "б", external_id="x" * 62)
    long.id = 18
    assert payload_for(long) == "ds-_18"


def test_a_dataset_survey_with_a_ticked_list_is_refused_at_start() -> None:
    ticked = parse_survey(
        "survey: dataset_feedback\nversion: '1'\ntitle: {kk: т, ru: т, en: t}\n"
        "thanks: {kk: р, ru: с, en: t}\nquestions:\n"
        "  - name: kinds\n    type: select_multiple\n    label: {kk: а, ru: б, en: c}\n"
        "    choices:\n      - name: a\n        label: {kk: а, ru: б, en: c}\n",
        "dataset_feedback.yaml",
    )
    with pytest.raises(SurveyError, match="single-value questions only"):
        DatasetDesk.from_surveys({"dataset_feedback": ticked}, str, LENIENT)
    assert DatasetDesk.from_surveys({}, str, LENIENT) is None


async def test_the_same_set_rated_twice_a_day_is_one_row_and_the_next_day_another(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed
) -> None:
    registry: Registry = await add_registry(session_factory, seed)
    morning = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)  # 09:00 in Almaty
    async with session_factory() as session:
        person = await UnitOfWork(session).responses.respondent("k" * 64, "ru")
        desk = DatasetRatings(session)
        first = await desk.open_rating(
            person, registry.schools, Channel.WEB, "ru", "dataset_feedback", "1", morning
        )
        store = RatingAnswers(
            session, person.id, str, text_question=None, consent=False, rules=LENIENT
        )
        assert await store.save_answer(first.id, "found", True, known=0)
        assert not await store.save_answer(first.id, "found", False, known=1)  # answered
        assert not await store.save_answer(first.id, "complete", True, known=0)  # moved on
        assert await store.save_answer(first.id, "overall", 4, known=1)
        await store.complete(
            first.id, [("dataset_found", "yes"), ("dataset_satisfaction", "4")], False
        )
        await store.complete(first.id, [("dataset_satisfaction", "1")], False)  # delivered twice
        stranger = RatingAnswers(
            session, person.id + 1, str, text_question=None, consent=False, rules=LENIENT
        )
        with pytest.raises(RatingClosed):
            await stranger.save_answer(first.id, "current", True)

        evening = morning + timedelta(hours=14)  # 23:00 in Almaty: the same day
        again = await desk.open_rating(
            person, registry.schools, Channel.TELEGRAM, "kk", "dataset_feedback", "1", evening
        )
        assert again.id == first.id and again.answers == {} and again.overall is None
        assert again.status is RatingStatus.IN_PROGRESS and again.language == "kk"
        next_day = morning + timedelta(hours=20)  # 05:00 the day after, in Almaty
        other = await desk.open_rating(
            person, registry.schools, Channel.WEB, "ru", "dataset_feedback", "1", next_day
        )
        assert other.id != first.id
        await session.commit()
    rows = await ratings(session_factory)
    assert [(row.day.isoformat(), row.status) for row in rows] == [
        ("2026-12-01", RatingStatus.IN_PROGRESS),
        ("2026-12-02", RatingStatus.IN_PROGRESS),
    ]
    assert DESK is not None and DESK.text_question == "problem_text"


async def test_a_filed_report_reaches_the_agency_summary_through_its_frame(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed
) -> None:
    registry = await add_registry(session_factory, seed)
    async with session_factory() as session:
        person = await UnitOfWork(session).responses.respondent("p" * 64, "kk")
        rating = await DatasetRatings(session).open_rating(
            person, registry.buses, Channel.TELEGRAM, "kk", "dataset_feedback", "1"
        )
        store = RatingAnswers(
            session,
            person.id,
            lambda text: text.replace("87011234567", "[phone]"),
            text_question="problem_text",
            consent=True,
            rules=LENIENT,
        )
        for number, (question, value) in enumerate(
            [("problem", "broken_link"), ("problem_text", "Сілтеме ашылмайды, 87011234567")]
        ):
            assert await store.save_answer(rating.id, question, value, known=number)
        await store.complete(rating.id, [("dataset_problem", "broken_link")], False)
        assert store.filed is not None
        start = datetime.now(UTC) - timedelta(days=1)
        frame = await problems_frame(session, seed.agency.id, start, start + timedelta(days=2))
        elsewhere = await problems_frame(
            session, seed.agency.id + 1, start, start + timedelta(days=2)
        )
        await session.commit()
    assert list(frame.columns) == list(PROBLEM_COLUMNS) and elsewhere.empty
    [row] = frame.to_dict("records")
    assert (row["complaint_id"], row["agency"], row["problem"], row["status"]) == (
        store.filed.reference,
        "ALA",
        "broken_link",
        "received",
    )
    assert row["dataset"] == "Автобусные маршруты Алматы" and pd.isna(row["answered_at"])
    assert row["deadline"] == store.filed.deadline
    [report] = await reports(session_factory)
    # The answer itself is stored scrubbed already (core/answer_text.py), before the report's
    # own scrub runs.
    assert report.text == "Сілтеме ашылмайды, [PHONE]" and report.consent_to_answer is True
    summary = summarise(
        frame.iloc[0:0].reindex(columns=list(COLUMNS)),
        period_start=start,
        period_end=start + timedelta(days=2),
        previous=frame.iloc[0:0].reindex(columns=list(COLUMNS)),
        history=None,
        now=datetime.now(UTC),
        config=load_summary_rules(),
        agency="ALA",
        problems=frame,
    )
    assert "Сілтеме жұмыс істемейді: 1" in render_summary(summary, "kk")
