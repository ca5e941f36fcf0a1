"""Answering a button press, lean: one statement stores an answer and checks the response's
owner, status and answers so far, and each worker remembers the responses it served. These
tests play several workers (one `SurveyDesk` each, so one memory each) over one database, on
SQLite here and PostgreSQL in CI, and check that a memory that is behind never stores an
answer wrongly nor refuses a right one."""

from __future__ import annotations

import asyncio

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.engine.flow import Ask, Completed, InvalidAnswer
from bot.opening import Pressed, Refused, SurveyDesk
from core.answer_writers import writer_for
from core.identity import respondent_key
from core.models import Answer, Channel, Respondent, Response, ResponseStatus
from core.responses import LiveResponse
from core.unit_of_work import UnitOfWork
from tests.conftest import SURVEYS

SECRET = b"test-secret"
OWNER = respondent_key(SECRET, "telegram", 1)
STRANGER = respondent_key(SECRET, "telegram", 2)
QUESTIONS = [q.name for q in SURVEYS["post_service"].questions]


def worker() -> SurveyDesk:
    return SurveyDesk(SURVEYS, "post_service")


async def opened_by(
    session_factory: async_sessionmaker[AsyncSession],
    desk: SurveyDesk,
    token: str,
    key: str = OWNER,
) -> Response:
    async with session_factory() as session:
        store = UnitOfWork(session)
        respondent = await store.responses.respondent(key, "ru")
        response = await desk.open_invitation(store, respondent, token, Channel.TELEGRAM, "ru")
        assert isinstance(response, Response), response
        await desk.resume(store, response, respondent)
        return response


async def press(
    session_factory: async_sessionmaker[AsyncSession],
    desk: SurveyDesk,
    response_id: int,
    question: str,
    raw: str | None,
    key: str = OWNER,
) -> Ask | Completed | Refused:
    async with session_factory() as session:
        store = UnitOfWork(session)
        found = await desk.press(store, key, response_id, QUESTIONS.index(question))
        if isinstance(found, Refused):
            return found
        return await desk.answer(store, found, raw)


async def stored_answers(
    session_factory: async_sessionmaker[AsyncSession], response_id: int
) -> dict[str, object]:
    async with session_factory() as session:
        rows = await session.execute(
            select(Answer.question, Answer.value).where(Answer.response_id == response_id)
        )
        return dict(rows.all())


async def test_record_answer_checks_owner_status_and_the_answers_it_was_decided_on(
    session_factory: async_sessionmaker[AsyncSession], make_invitation
) -> None:
    response = await opened_by(session_factory, worker(), await make_invitation())
    async with session_factory() as session:
        store = UnitOfWork(session)
        stranger = await store.responses.record_answer(
            response.id, "overall", 1, known=0, owner_key=STRANGER
        )
        assert (stranger.open, stranger.stored) == (False, False)
        behind = await store.responses.record_answer(
            response.id, "overall", 5, known=3, owner_key=OWNER
        )
        assert (behind.open, behind.stored, behind.language) == (True, False, "ru")
        taken = await store.responses.record_answer(
            response.id, "overall", 5, known=0, owner_key=OWNER
        )
        assert (taken.open, taken.stored) == (True, True)
        twice = await store.responses.record_answer(
            response.id, "overall", 2, known=None, owner_key=OWNER
        )
        assert (twice.open, twice.stored) == (True, False)
        unknown = await store.responses.record_answer(
            response.id + 1000, "overall", 2, owner_key=OWNER
        )
        assert unknown.open is False
        await store.commit()
    assert await stored_answers(session_factory, response.id) == {"overall": 5}
    async with session_factory() as session:
        stored = await session.get(Response, response.id)
        assert stored is not None and stored.updated_at >= stored.started_at


async def test_answers_given_at_the_same_moment_are_each_checked_and_stored_on_their_own(
    session_factory: async_sessionmaker[AsyncSession], make_invitation
) -> None:
    # On PostgreSQL the answers of one turn of the event loop go in one statement: each must
    # still get its own verdict, as it would alone (on SQLite each goes on its own anyway).
    owners = [respondent_key(SECRET, "telegram", 100 + n) for n in range(6)]
    desk = worker()
    responses = [
        await opened_by(session_factory, desk, await make_invitation(), key=owner)
        for owner in owners
    ]

    # The writer the app picks for this database: on PostgreSQL, the answers given at once go
    # in one statement.
    writer = writer_for(session_factory.kw["bind"])

    async def record(n: int, question: str, value: object, known: int | None, owner: str):  # type: ignore[no-untyped-def]
        async with session_factory() as session:
            store = UnitOfWork(session, writer)
            recorded = await store.responses.record_answer(
                responses[n].id if n >= 0 else 10**9, question, value, known=known, owner_key=owner
            )
            await store.commit()
            return recorded

    gathered = asyncio.gather(
        record(0, "overall", 5, 0, owners[0]),  # right
        record(1, "overall", 4, 0, owners[0]),  # someone else's response
        record(2, "overall", 3, 2, owners[2]),  # decided on answers it does not have
        record(3, "overall", 2, None, owners[3]),  # two answers to one question at once:
        record(3, "overall", 1, None, owners[3]),  # one counts, and is told so
        record(-1, "overall", 5, None, owners[4]),  # no such response
        record(5, "deadline_met", "yes", 0, owners[5]),  # right, another question
    )
    try:
        results = await gathered
    finally:
        await writer.close()
    verdicts = [(r.open, r.stored) for r in results]
    # Which of the two at once is stored is up to the database's order (the first given, on
    # PostgreSQL's one statement; the first committed, on SQLite): exactly one, told so.
    both = verdicts[3:5]
    assert sorted(both) == [(True, False), (True, True)]
    kept = 2 if both[0] == (True, True) else 1
    assert verdicts[:3] + verdicts[5:] == [
        (True, True),
        (False, False),
        (True, False),
        (False, False),
        (True, True),
    ]
    assert results[0].language == "ru"
    assert [await stored_answers(session_factory, r.id) for r in responses] == [
        {"overall": 5},
        {},
        {},
        {"overall": kept},
        {},
        {"deadline_met": "yes"},
    ]


async def test_an_answer_inside_an_open_unit_of_work_is_checked_and_committed_with_it(
    session_factory: async_sessionmaker[AsyncSession], make_invitation
) -> None:
    response = await opened_by(session_factory, worker(), await make_invitation())
    async with session_factory() as session:
        store = UnitOfWork(session)
        await session.execute(select(Response.id))  # the unit of work's transaction is open
        stranger = await store.responses.record_answer(
            response.id, "overall", 1, known=0, owner_key=STRANGER
        )
        assert (stranger.open, stranger.stored) == (False, False)
        await session.execute(select(Response.id))
        taken = await store.responses.record_answer(
            response.id, "overall", 4, known=0, owner_key=OWNER
        )
        assert (taken.open, taken.stored, taken.language) == (True, True, "ru")
        await store.commit()
    assert await stored_answers(session_factory, response.id) == {"overall": 4}


async def test_a_closed_response_takes_no_answer(
    session_factory: async_sessionmaker[AsyncSession], make_invitation
) -> None:
    response = await opened_by(session_factory, worker(), await make_invitation())
    async with session_factory() as session:
        store = UnitOfWork(session)
        respondent = await store.responses.respondent(OWNER)
        await store.responses.forget(respondent)  # /stop: stopped and unlinked
        recorded = await store.responses.record_answer(
            response.id, "overall", 5, known=0, owner_key=OWNER
        )
        assert recorded.open is False and recorded.stored is False
        assert await store.responses.live_response(response.id, OWNER) is None
    assert await stored_answers(session_factory, response.id) == {}


async def test_live_response_reads_survey_service_language_and_answers(
    session_factory: async_sessionmaker[AsyncSession], make_invitation, seed
) -> None:
    response = await opened_by(session_factory, worker(), await make_invitation())
    async with session_factory() as session:
        store = UnitOfWork(session)
        await store.responses.record_answer(response.id, "overall", 4)
        live = await store.responses.live_response(response.id, OWNER)
        assert isinstance(live, LiveResponse)
        assert (live.survey_id, live.language, live.answers) == (
            "post_service",
            "ru",
            {"overall": 4},
        )
        assert live.service.name("kk") == seed.service.name_kk
        assert await store.responses.live_response(response.id, STRANGER) is None


async def test_workers_taking_turns_store_every_answer_and_refuse_none(
    session_factory: async_sessionmaker[AsyncSession], make_invitation
) -> None:
    """Webhook workers behind a balancer: each press may land on either; each worker's memory
    of the response is behind whenever the other took the last answer."""
    first, second = worker(), worker()
    response = await opened_by(session_factory, first, await make_invitation())
    script = [
        ("overall", "5"),
        ("deadline_met", "yes"),
        ("refused", "no"),
        ("extra_documents", "no"),
        ("full_package", "yes"),
    ]
    for turn, (question, raw) in enumerate(script):
        desk = (first, second)[turn % 2]
        step = await press(session_factory, desk, response.id, question, raw)
        assert isinstance(step, Ask), step
        assert step.error is None, (question, step.error)
    assert await stored_answers(session_factory, response.id) == {
        "overall": 5,
        "deadline_met": True,
        "refused": False,
        "extra_documents": False,
        "full_package": True,
    }


async def test_an_old_question_pressed_on_a_worker_that_is_behind_is_already_answered(
    session_factory: async_sessionmaker[AsyncSession], make_invitation
) -> None:
    first, second = worker(), worker()
    response = await opened_by(session_factory, first, await make_invitation())
    await press(session_factory, first, response.id, "overall", "5")
    await press(session_factory, second, response.id, "deadline_met", "yes")
    # `first` still remembers only "overall": the double tap must not be stored again.
    step = await press(session_factory, first, response.id, "deadline_met", "no")
    assert isinstance(step, Ask)
    assert step.error == InvalidAnswer("already_answered")
    assert step.question.name == "refused"
    assert await stored_answers(session_factory, response.id) == {
        "overall": 5,
        "deadline_met": True,
    }


async def test_stop_on_one_worker_is_respected_by_another_that_remembers_the_survey(
    session_factory: async_sessionmaker[AsyncSession], make_invitation
) -> None:
    first, second = worker(), worker()
    response = await opened_by(session_factory, first, await make_invitation())
    await press(session_factory, first, response.id, "overall", "4")
    async with session_factory() as session:
        store = UnitOfWork(session)
        respondent = await store.responses.respondent(OWNER)
        second.live.forget_owner(OWNER)
        await store.responses.forget(respondent)
        await store.commit()
    step = await press(session_factory, first, response.id, "deadline_met", "yes")
    assert step == Refused("stale_button")
    assert await stored_answers(session_factory, response.id) == {"overall": 4}


async def test_a_new_language_chosen_on_another_worker_is_spoken_at_once(
    session_factory: async_sessionmaker[AsyncSession], make_invitation
) -> None:
    first = worker()
    response = await opened_by(session_factory, first, await make_invitation())
    async with session_factory() as session:
        store = UnitOfWork(session)
        respondent = (
            await session.scalars(select(Respondent).where(Respondent.key == OWNER))
        ).one()
        await store.responses.set_language(respondent, "kk")  # on another worker
        await store.commit()
    async with session_factory() as session:
        store = UnitOfWork(session)
        found = await first.press(store, OWNER, response.id, 0)
        assert isinstance(found, Pressed)
        step = await first.answer(store, found, "5")
        assert isinstance(step, Ask)
        assert found.live.language == "kk"


async def test_someone_elses_or_a_finished_survey_is_refused_even_when_remembered(
    session_factory: async_sessionmaker[AsyncSession], make_invitation
) -> None:
    desk = worker()
    response = await opened_by(session_factory, desk, await make_invitation())
    assert await press(session_factory, desk, response.id, "overall", "5", key=STRANGER) == (
        Refused("stale_button")
    )
    async with session_factory() as session:
        stored = await session.get(Response, response.id)
        assert stored is not None
        stored.status = ResponseStatus.COMPLETED  # finished elsewhere
        await session.commit()
    assert await press(session_factory, desk, response.id, "overall", "5") == Refused("completed")
    assert await stored_answers(session_factory, response.id) == {}


async def test_a_response_just_opened_is_empty_then_holds_what_was_stored(
    session_factory: async_sessionmaker[AsyncSession], make_invitation
) -> None:
    token = await make_invitation()
    async with session_factory() as session:
        store = UnitOfWork(session)
        respondent = await store.responses.respondent(OWNER, "ru")
        response = await worker().open_invitation(store, respondent, token, Channel.TELEGRAM, "ru")
        assert isinstance(response, Response)
        assert await store.responses.load_answers(response.id) == {}  # known without a read
        assert (await store.responses.record_answer(response.id, "overall", 5)).stored
        assert await store.responses.load_answers(response.id) == {"overall": 5}
