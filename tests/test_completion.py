"""The last answer and the completion are one transaction, and a completion lost anyway (a
crash between two commits of an older version, a database cut) is repaired by the citizen's
next press or /start: the response completed and counted once, in the funnel, the rollups
and the ledger."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.engine.flow import Ask, Completed, next_step
from bot.opening import Refused, SurveyDesk
from core import responses
from core.identity import respondent_key
from core.models import Channel, Response, ResponseStatus
from core.unit_of_work import UnitOfWork
from tests.answer_path_checks import tally
from tests.conftest import SURVEYS

SECRET = b"test-secret"
OWNER = respondent_key(SECRET, "telegram", 1)
SURVEY = SURVEYS["post_service"]
QUESTIONS = [q.name for q in SURVEY.questions]


def a_value(step: Ask) -> str:
    """A valid answer to any question, as a button would carry it."""
    kind = step.question.type.value
    if kind in ("rating", "nps"):
        return "4"
    if kind == "yes_no":
        return "no"
    if kind in ("select_one", "select_multiple"):
        return step.question.choices[0].name
    return ""


def every_answer() -> dict[str, Any]:
    """A whole survey's answers, as the engine would have taken them."""
    from bot.engine.flow import validate

    given: dict[str, Any] = {}
    step = next_step(SURVEY, given)
    while isinstance(step, Ask):
        valid = validate(step.question, a_value(step))
        given[step.question.name] = getattr(valid, "value", None)
        step = next_step(SURVEY, given)
    return given


async def open_response(
    session_factory: async_sessionmaker[AsyncSession], desk: SurveyDesk, token: str
) -> int:
    async with session_factory() as session:
        store = UnitOfWork(session)
        respondent = await store.responses.respondent(OWNER, "ru")
        response = await desk.open_invitation(store, respondent, token, Channel.TELEGRAM, "ru")
        assert isinstance(response, Response), response
        await desk.resume(store, response, respondent)
        return response.id


async def press(
    session_factory: async_sessionmaker[AsyncSession],
    desk: SurveyDesk,
    response_id: int,
    question: str,
    raw: str | None,
) -> Ask | Completed | Refused:
    async with session_factory() as session:
        store = UnitOfWork(session)
        found = await desk.press(store, OWNER, response_id, QUESTIONS.index(question))
        if isinstance(found, Refused):
            return found
        return await desk.answer(store, found, raw)


async def status_of(session_factory: async_sessionmaker[AsyncSession], response_id: int) -> Any:
    async with session_factory() as session:
        return await session.scalar(select(Response.status).where(Response.id == response_id))


async def store_without_completing(
    session_factory: async_sessionmaker[AsyncSession], response_id: int, answers: dict[str, Any]
) -> None:
    """Every answer committed, the completion never: what a crash between the two left."""
    async with session_factory() as session:
        store = UnitOfWork(session)
        for question, value in answers.items():
            recorded = await store.responses.record_answer(response_id, question, value)
            assert recorded.stored
        await store.commit()


async def test_a_press_after_a_lost_completion_completes_and_counts_the_response_once(
    session_factory: async_sessionmaker[AsyncSession], make_invitation: Any
) -> None:
    desk = SurveyDesk(SURVEYS, "post_service")
    response_id = await open_response(session_factory, desk, await make_invitation())
    await store_without_completing(session_factory, response_id, every_answer())
    assert (await tally(session_factory)).stuck == 1

    # The citizen presses an old button of the survey (the first question, answered).
    step = await press(
        session_factory, SurveyDesk(SURVEYS, "post_service"), response_id, "overall", "5"
    )
    assert isinstance(step, Completed)
    assert await status_of(session_factory, response_id) is ResponseStatus.COMPLETED
    again = await press(session_factory, desk, response_id, "overall", "5")
    assert again == Refused("completed")
    counts = await tally(session_factory)
    assert (counts.completed, counts.funnel_completed, counts.rollup_responses, counts.ledger) == (
        1,
        1,
        1,
        1,
    )
    assert counts.stuck == 0


async def test_resuming_after_a_lost_completion_completes_and_counts_the_response_once(
    session_factory: async_sessionmaker[AsyncSession], make_invitation: Any
) -> None:
    desk = SurveyDesk(SURVEYS, "post_service")
    response_id = await open_response(session_factory, desk, await make_invitation())
    await store_without_completing(session_factory, response_id, every_answer())
    for _ in range(2):  # /start, twice
        async with session_factory() as session:
            store = UnitOfWork(session)
            respondent = await store.responses.respondent(OWNER)
            response = await store.responses.response(response_id)
            assert response is not None
            conversation = await desk.resume(store, response, respondent)
            assert isinstance(conversation.current(), Completed)
    counts = await tally(session_factory)
    assert (counts.completed, counts.funnel_completed, counts.rollup_responses, counts.ledger) == (
        1,
        1,
        1,
        1,
    )


async def test_the_last_answer_is_not_kept_without_its_completion(
    session_factory: async_sessionmaker[AsyncSession],
    make_invitation: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    desk = SurveyDesk(SURVEYS, "post_service")
    response_id = await open_response(session_factory, desk, await make_invitation())
    answers = every_answer()
    *given, (last, last_value) = answers.items()
    await store_without_completing(session_factory, response_id, dict(given))

    async def database_cut(*_args: Any, **_kwargs: Any) -> None:
        raise ConnectionResetError("the database went away mid-completion")

    queueing = responses.queue_completed
    monkeypatch.setattr(responses, "queue_completed", database_cut)
    raw = "" if last_value is None else str(last_value)
    with pytest.raises(ConnectionResetError):
        await press(session_factory, desk, response_id, last, raw)
    # Neither the last answer nor the completion: the citizen's next press asks it again.
    counts = await tally(session_factory)
    assert (counts.answers, counts.completed, counts.stuck) == (len(given), 0, 0)

    monkeypatch.setattr(responses, "queue_completed", queueing)
    step = await press(session_factory, desk, response_id, last, raw)
    assert isinstance(step, Completed)
    counts = await tally(session_factory)
    assert (counts.answers, counts.completed, counts.funnel_completed, counts.ledger) == (
        len(answers),
        1,
        1,
        1,
    )
    assert counts.rollup_responses == 1


async def test_a_new_survey_after_a_lost_completion_completes_the_old_one_instead_of_stopping_it(
    session_factory: async_sessionmaker[AsyncSession], make_invitation: Any
) -> None:
    desk = SurveyDesk(SURVEYS, "post_service")
    first = await open_response(session_factory, desk, await make_invitation())
    await store_without_completing(session_factory, first, every_answer())
    await open_response(session_factory, desk, await make_invitation())
    assert await status_of(session_factory, first) is ResponseStatus.COMPLETED
    counts = await tally(session_factory)
    assert (counts.completed, counts.funnel_completed, counts.ledger, counts.stuck) == (1, 1, 1, 0)
