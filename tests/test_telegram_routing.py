"""How the Telegram adapter is put together: what each handler needs is declared with aiogram
flags (read by the middlewares), and typed text is routed by the chat's FSM state."""

from __future__ import annotations

import inspect

import pytest
from aiogram import Router
from aiogram.dispatcher.event.handler import HandlerObject
from aiogram.filters import StateFilter

from bot.telegram import common, complaints, datasets, link, staff_chats, start, survey
from bot.telegram.complaints import ComplaintSteps
from bot.telegram.datasets import DataSteps

ROUTERS = {
    "survey_buttons": survey.build_buttons_router,
    "datasets": datasets.build_router,
    "start": start.build_router,
    "link": link.build_router,
    "complaints": complaints.build_router,
    "staff_chats": staff_chats.build_router,
    "survey": survey.build_router,
    "common": common.build_router,
}


def handlers(router: Router) -> list[HandlerObject]:
    return [h for observer in router.observers.values() for h in observer.handlers]


@pytest.mark.parametrize("name", sorted(ROUTERS))
def test_every_handler_that_takes_the_respondent_or_language_says_so_with_a_flag(
    name: str,
) -> None:
    """`respondent` and the chosen `lang` cost a database read, made only for handlers
    flagged `respondent`; an unflagged one would get the Telegram client's language."""
    for handler in handlers(ROUTERS[name]()):
        params = set(inspect.signature(handler.callback).parameters)
        wants = bool(params & {"respondent", "lang"})
        assert handler.flags.get("respondent", False) is wants, handler.callback.__name__


def test_survey_buttons_read_neither_the_respondent_nor_the_state() -> None:
    """Nearly every update is a survey button: it needs no respondent read (the answer's
    statement checks the owner) and no state (the button's data says what it answers)."""
    for handler in handlers(survey.build_buttons_router()):
        params = set(inspect.signature(handler.callback).parameters)
        assert not params & {"respondent", "lang", "state", "raw_state"}
        assert "respondent" not in handler.flags


def states_of(handler: HandlerObject) -> set[str | None] | None:
    for filter_ in handler.filters or []:
        if isinstance(filter_.callback, StateFilter):
            return {
                s if s is None or isinstance(s, str) else s.state for s in filter_.callback.states
            }
    return None


def test_typed_text_waiting_in_a_step_goes_to_that_steps_handler_only() -> None:
    """Each state that waits for typed text has one handler, in its own router."""
    routed: dict[str | None, list[str]] = {}
    for name, build in ROUTERS.items():
        for handler in build().message.handlers:
            for state in states_of(handler) or ():
                routed.setdefault(state, []).append(f"{name}.{handler.callback.__name__}")
    assert routed[ComplaintSteps.text.state] == ["complaints.on_text"]
    assert routed[DataSteps.searching.state] == ["datasets.on_search"]
    assert routed[DataSteps.typing.state] == ["datasets.on_text"]
    # No state (none set, or lost in a restart): the database decides, rating before complaint
    # before survey, each passing on what is not theirs.
    assert routed[None] == ["datasets.on_text", "complaints.on_text"]
