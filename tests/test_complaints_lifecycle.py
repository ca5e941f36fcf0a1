"""Complaints without a channel: working days, deadlines, the lifecycle and its history, the
text rules, and the frame the analytics read (which holds nothing about the citizen). Time is
frozen: every step is given its moment."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import utcnow
from core.complaints import (
    FRAME_COLUMNS,
    MAX_TEXT,
    ComplaintDesk,
    ComplaintProblem,
    TextRefused,
    answer,
    clean_text,
    complaints_frame,
    deadline_for,
    history,
    is_overdue,
    move_to,
    new_reference,
    parse_reference,
    rules_from,
    watch_deadlines,
)
from core.models import (
    Channel,
    ChatAddress,
    Complaint,
    ComplaintCategory,
    ComplaintStatus,
    Respondent,
    Response,
    ResponseStatus,
)
from core.retention import purge_idle_addresses
from core.working_days import HolidayCalendar, calendar_from, kazakhstan_calendar
from tests.conftest import Seed

KZ = kazakhstan_calendar()
# Monday 2 March 2026, 10:00 in Kazakhstan
MONDAY = datetime(2026, 3, 2, 5, 0, tzinfo=UTC)


# Working days ------------------------------------------------------------------------------


def test_working_days_skip_weekends_and_kazakh_holidays() -> None:
    assert KZ.add_working_days(date(2026, 3, 2), 1) == date(2026, 3, 3)
    assert KZ.add_working_days(date(2026, 3, 6), 1) == date(2026, 3, 10)  # Sun 8 March -> Mon 9
    # Nauryz 21-23 March 2026: Sat, Sun, Mon; the weekend two move to 24 and 25
    assert not KZ.is_working_day(date(2026, 3, 24))
    assert not KZ.is_working_day(date(2026, 3, 25))
    assert KZ.add_working_days(date(2026, 3, 20), 1) == date(2026, 3, 26)
    assert not KZ.is_working_day(date(2026, 5, 27))  # Kurban ait 2026
    assert not KZ.is_working_day(date(2026, 1, 7))
    assert KZ.is_working_day(date(2026, 1, 8))
    assert KZ.add_working_days(date(2026, 12, 31), 0) == date(2026, 12, 31)
    # 1 January 2027 is a Friday; the 2nd (Saturday) moves to Monday the 4th
    assert KZ.add_working_days(date(2027, 1, 1), 0) == date(2027, 1, 5)


@given(
    start=st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 12, 31)),
    count=st.integers(min_value=0, max_value=60),
)
def test_adding_working_days_lands_on_a_working_day_and_counts_back(
    start: date, count: int
) -> None:
    end = KZ.add_working_days(start, count)
    assert KZ.is_working_day(end)
    assert end >= start
    if count > 0:
        assert KZ.working_days_between(start, end) == count
        # the day before the end is one working day short
        assert KZ.working_days_between(start, end - timedelta(days=1)) == count - 1
    # calendar days never fewer than working days
    assert (end - start).days >= count


@given(
    start=st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 6, 30)),
    a=st.integers(min_value=1, max_value=30),
    b=st.integers(min_value=1, max_value=30),
)
def test_working_days_add_up(start: date, a: int, b: int) -> None:
    assert KZ.add_working_days(KZ.add_working_days(start, a), b) == KZ.add_working_days(
        start, a + b
    )


def test_a_calendar_without_holidays_counts_weekdays_only() -> None:
    plain = HolidayCalendar(frozenset())
    assert plain.add_working_days(date(2026, 3, 6), 15) == date(2026, 3, 27)
    decreed = calendar_from({"days_off": {2026: ["2026-01-05"]}}, range(2026, 2027))
    assert date(2026, 1, 5) in decreed.days_off


def test_deadline_is_15_working_days_from_the_kazakh_day_of_receipt() -> None:
    # 9 March (8 March moved off Sunday) and 21-25 March (Nauryz and its transfers) are off
    assert deadline_for(ComplaintCategory.RUDENESS, MONDAY) == date(2026, 3, 27)
    # 23:30 UTC on Monday is already Tuesday in Kazakhstan
    late = datetime(2026, 3, 2, 23, 30, tzinfo=UTC)
    assert deadline_for(ComplaintCategory.RUDENESS, late) == date(2026, 3, 30)
    rules = rules_from({"default_working_days": 15, "categories": {"corruption": 5}})
    assert deadline_for(ComplaintCategory.CORRUPTION, MONDAY, rules) == date(2026, 3, 10)
    assert deadline_for(ComplaintCategory.OTHER, MONDAY, rules) == date(2026, 3, 27)
    with pytest.raises(ValueError, match="unknown categories"):
        rules_from({"default_working_days": 15, "categories": {"bribes": 5}})


# Text and references -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "complaint_text_empty"),
        (None, "complaint_text_empty"),
        ("  \n\t \x00\x07 ", "complaint_text_empty"),
        ("😡🙄👎", "complaint_text_no_words"),
        ("12345 !!! ???", "complaint_text_no_words"),
        ("投诉排队时间太长", "complaint_text_script"),
        ("شكوى طويلة جدا", "complaint_text_script"),
        ("а" * (MAX_TEXT + 1), "complaint_text_too_long"),
    ],
)
def test_texts_that_are_refused(raw: str | None, reason: str) -> None:
    assert clean_text(raw) == TextRefused(reason)


def test_texts_that_are_taken_are_tidied() -> None:
    assert clean_text("  Кезек\x00 өте   ұзақ 😡 \n\n\n\nжауап жоқ ") == (
        "Кезек өте ұзақ 😡\n\nжауап жоқ"
    )
    assert clean_text("Waited 3 hours") == "Waited 3 hours"
    assert clean_text("я" * MAX_TEXT) == "я" * MAX_TEXT


@given(st.text(max_size=3000))
def test_any_text_is_taken_tidied_or_refused_never_a_crash(raw: str) -> None:
    result = clean_text(raw)
    if isinstance(result, str):
        assert 0 < len(result) <= MAX_TEXT
        assert not any(ch in result for ch in "\x00\x07\r\t")


def test_references_are_short_unguessable_and_parsed_strictly() -> None:
    made = {new_reference() for _ in range(1000)}
    assert len(made) == 1000
    for reference in made:
        assert len(reference) == 10 and parse_reference(f" {reference.lower()} ") == reference
    for forged in ("", "Q-", "Q-ABCDEFG1", "Q-ABCDEFGHI", "X-ABCDEFGH", "Q-ABCD EFGH", "1 OR 1=1"):
        assert parse_reference(forged) is None


# The lifecycle, in the database -----------------------------------------------------------


async def filed(
    session: AsyncSession, seed: Seed, key: str, now: datetime = MONDAY
) -> tuple[Respondent, Complaint]:
    respondent = Respondent(key=key, language="kk")
    session.add(respondent)
    await session.flush()
    response = Response(
        respondent_id=respondent.id,
        survey_id="post_service",
        survey_version="1",
        channel=Channel.TELEGRAM,
        language="kk",
        status=ResponseStatus.COMPLETED,
        service_id=seed.service.id,
        service_point_id=seed.office.id,
        completed_at=now - timedelta(hours=1),
    )
    session.add(response)
    await session.commit()
    desk = ComplaintDesk(session)
    complaint = await desk.start(respondent, response.id, "kk", now)
    await desk.choose_category(complaint, "extra_documents")
    await desk.give_text(complaint, "ЖСН 900101300017 деп жазды, анықтама сұрады", str.upper)
    await desk.submit(complaint, consent=True, now=now)
    await session.commit()
    return respondent, complaint


async def test_a_complaint_goes_received_in_review_answered_closed_with_its_history(
    seed: Seed, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async with session_factory() as session:
        _, complaint = await filed(session, seed, "k1")
        assert complaint.status is ComplaintStatus.RECEIVED
        assert complaint.received_at == MONDAY
        assert complaint.deadline == date(2026, 3, 27)
        assert complaint.text == "ЖСН 900101300017 ДЕП ЖАЗДЫ, АНЫҚТАМА СҰРАДЫ"  # the given scrub
        steps = [
            (ComplaintStatus.IN_REVIEW, MONDAY + timedelta(days=1)),
            (ComplaintStatus.ANSWERED, MONDAY + timedelta(days=3)),
            (ComplaintStatus.CLOSED, MONDAY + timedelta(days=4)),
        ]
        for status, at in steps:
            move_to(session, complaint, status, "staff@agency.kz", at)
            await session.commit()
        assert (complaint.in_review_at, complaint.answered_at, complaint.closed_at) == tuple(
            at for _, at in steps
        )
        changes = await history(session, complaint.id)
        assert [(c.status, c.at, c.actor) for c in changes] == [
            (ComplaintStatus.RECEIVED, MONDAY, "citizen"),
            *[(status, at, "staff@agency.kz") for status, at in steps],
        ]
        # a closed complaint is not answered again, nor reopened
        for status in ComplaintStatus:
            with pytest.raises(ComplaintProblem, match="complaint_move_not_allowed"):
                move_to(session, complaint, status, "staff@agency.kz")


async def test_filing_is_refused_for_old_foreign_unknown_or_already_filed_services(
    seed: Seed, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async with session_factory() as session:
        owner, complaint = await filed(session, seed, "k2")
        other = Respondent(key="k3", language="ru")
        session.add(other)
        await session.commit()
        desk = ComplaintDesk(session)
        assert complaint.response_id is not None
        for who, response_id, reason in [
            (other, complaint.response_id, "complaint_unknown_service"),
            (other, 999_999, "complaint_unknown_service"),
            (owner, complaint.response_id, "complaint_already_filed"),
        ]:
            with pytest.raises(ComplaintProblem, match=reason):
                await desk.start(who, response_id, "ru", MONDAY)
        with pytest.raises(ComplaintProblem, match="complaint_reference_unknown"):
            await desk.own(other, complaint.reference)
        assert (await desk.own(owner, complaint.reference)).id == complaint.id
        assert await desk.recent_services(owner, MONDAY) == []

    async with session_factory() as session:
        late = MONDAY + timedelta(days=31)
        respondent, _ = await filed(session, seed, "k4", now=late)
        response = Response(
            respondent_id=respondent.id,
            survey_id="post_service",
            survey_version="1",
            channel=Channel.WEB,
            language="kk",
            status=ResponseStatus.COMPLETED,
            service_id=seed.service.id,
            completed_at=MONDAY,
        )
        session.add(response)
        await session.commit()
        with pytest.raises(ComplaintProblem, match="complaint_service_too_old"):
            await ComplaintDesk(session).start(respondent, response.id, "kk", late)


async def test_the_frame_has_the_analytics_columns_and_nothing_of_the_citizen(
    seed: Seed, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async with session_factory() as session:
        respondent, complaint = await filed(session, seed, "secret-respondent-key")
        draft_owner = Respondent(key="k5")
        session.add(draft_owner)
        await session.commit()
        frame = await complaints_frame(
            session, seed.agency.id, MONDAY - timedelta(days=1), MONDAY + timedelta(days=1)
        )
        assert list(frame.columns) == FRAME_COLUMNS
        [row] = frame.to_dict("records")
        assert row["complaint_id"] == complaint.reference
        assert (row["agency"], row["service"], row["office"]) == (
            seed.agency.code,
            seed.service.code,
            seed.office.code,
        )
        assert (row["category"], row["status"], row["language"]) == (
            "extra_documents",
            "received",
            "kk",
        )
        assert row["deadline"] == date(2026, 3, 27)
        flat = frame.astype(str).to_string()
        assert "secret-respondent-key" not in flat
        assert str(respondent.id) not in set(frame.astype(str).to_numpy().ravel())
        # another agency, or another period: nothing
        assert (await complaints_frame(session, seed.agency.id + 99, MONDAY, MONDAY)).empty
        empty = await complaints_frame(session, None, MONDAY + timedelta(days=1), MONDAY)
        assert list(empty.columns) == FRAME_COLUMNS


async def test_the_deadline_job_reminds_before_and_flags_after_each_once(
    seed: Seed, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async with session_factory() as session:
        _, open_one = await filed(session, seed, "k6")
        _, answered = await filed(session, seed, "k7")
        answer(session, answered, "Ответ", "staff@agency.kz", MONDAY)
        await session.commit()
        assert open_one.deadline == date(2026, 3, 27)

        # Wednesday 18 March: 4 working days left (19, 20, then 26, 27 after the Nauryz break)
        early = await watch_deadlines(session, datetime(2026, 3, 18, 5, tzinfo=UTC))
        assert (early.reminders, early.overdue) == ([], [])
        # Thursday 19 March: 3 left (20, 26, 27), within the rules' 3 days
        due = await watch_deadlines(session, datetime(2026, 3, 19, 5, tzinfo=UTC))
        assert [c.reference for c in due.reminders] == [open_one.reference]
        assert due.overdue == []
        again = await watch_deadlines(session, datetime(2026, 3, 26, 5, tzinfo=UTC))
        assert (again.reminders, again.overdue) == ([], [])
        assert not is_overdue(open_one, datetime(2026, 3, 27, 18, tzinfo=UTC))  # the 27th KZ
        late = await watch_deadlines(session, datetime(2026, 3, 27, 19, 30, tzinfo=UTC))
        assert [c.reference for c in late.overdue] == [open_one.reference]
        assert is_overdue(open_one, datetime(2026, 3, 28, 5, tzinfo=UTC))
        assert not is_overdue(answered, datetime(2026, 3, 28, 5, tzinfo=UTC))
        later = await watch_deadlines(session, datetime(2026, 4, 10, 5, tzinfo=UTC))
        assert later.overdue == []


async def test_the_answer_is_refused_empty_oversize_or_on_a_closed_complaint(
    seed: Seed, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async with session_factory() as session:
        _, complaint = await filed(session, seed, "k8")
        for raw, reason in [("", "complaint_answer_empty"), (" \x00 ", "complaint_answer_empty")]:
            with pytest.raises(ComplaintProblem, match=reason):
                answer(session, complaint, raw, "staff")
        with pytest.raises(ComplaintProblem, match="complaint_answer_too_long"):
            answer(session, complaint, "а" * 4001, "staff")
        assert complaint.status is ComplaintStatus.RECEIVED
        move_to(session, complaint, ComplaintStatus.CLOSED, "staff", MONDAY)
        await session.commit()
        with pytest.raises(ComplaintProblem, match="complaint_move_not_allowed"):
            answer(session, complaint, "Поздний ответ", "staff")
        assert complaint.answer_text is None


async def test_the_chat_address_of_a_citizen_awaiting_an_answer_is_kept(
    seed: Seed, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    long_ago = utcnow() - timedelta(days=400)
    async with session_factory() as session:
        waiting, _ = await filed(session, seed, "k9", now=utcnow())
        idle = Respondent(key="k10")
        session.add(idle)
        await session.flush()
        for who in (waiting, idle):
            session.add(
                ChatAddress(
                    respondent_id=who.id,
                    channel=Channel.TELEGRAM,
                    encrypted_address=b"sealed",
                    created_at=long_ago,
                )
            )
        await session.execute(update(Response).values(updated_at=long_ago))
        await session.commit()
        assert await purge_idle_addresses(session, 30) == 1
        await session.commit()
        kept = await session.scalars(select(ChatAddress.respondent_id))
        assert list(kept) == [waiting.id]


def test_a_complaint_keeps_joined_emoji_and_direction_marks() -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    assert clean_text(f"Кезек өте ұзақ {family}\u200f\x07") == f"Кезек өте ұзақ {family}\u200f"
