"""How a survey step looks in a Telegram chat (HTML parse mode), and sending one."""

from __future__ import annotations

from html import escape

from bot.engine.definition import QuestionType, SurveyDefinition
from bot.engine.flow import Ask, Completed, InvalidAnswer, Step
from bot.messages import text
from bot.opening import SurveyDesk
from bot.telegram.cards import Card, CardManager
from bot.telegram.complaints import offer_keyboard
from bot.telegram.keyboards import question_keyboard
from core.models import Response
from core.responses import LiveResponse


def refusal(error: InvalidAnswer, lang: str) -> str:
    return text(error.reason, lang, **dict(error.params))


def card(
    step: Step,
    definition: SurveyDefinition,
    response: Response | LiveResponse,
    lang: str,
    notice: str | None = None,
    *,
    rating: str | None = None,
) -> Card:
    """The message for a step: the question with its buttons, or the thank-you (with the
    office's `rating`, HTML, when there is one to tell)."""
    lines: list[str] = []
    if notice:
        lines.append(escape(notice))
    if isinstance(step, Completed):
        lines.append(f"✅ {escape(definition.thanks.get(lang) or definition.thanks['ru'])}")
        keyboard = None
        if step.complaint_requested:
            lines.append(escape(text("complaint_noted", lang)))
            keyboard = offer_keyboard(response.id, lang)
        if rating:
            lines.append(rating)
        return Card("\n\n".join(lines), keyboard)
    if step.error is not None:
        lines.append(f"⚠️ {escape(refusal(step.error, lang))}")
    question = step.question
    header = escape(text("progress", lang, number=step.number, total=step.total))
    service = escape(response.service.name(lang))
    body = f"<i>{service}</i>\n{header}\n\n<b>{escape(question.text(lang))}</b>"
    if step.number == 1 and definition.intro:
        # What to expect (length, anonymity), once, above the first question.
        intro = definition.intro.get(lang) or definition.intro["ru"]
        body = (
            f"<i>{service}</i>\n{escape(intro)}\n\n{header}\n\n<b>{escape(question.text(lang))}</b>"
        )
    hint = question.hint_text(lang)
    if hint:
        body += f"\n<i>{escape(hint)}</i>"
    if question.type is QuestionType.TEXT:
        body += f"\n\n{escape(text('type_answer', lang))}"
    elif question.type is QuestionType.SELECT_MULTIPLE:
        body += f"\n\n{escape(text('choose_several', lang))}"
    lines.append(body)
    index = definition.index_of(question.name)
    return Card("\n\n".join(lines), question_keyboard(response.id, index, question, lang))


def is_ask(step: Step) -> bool:
    return isinstance(step, Ask)


async def send_step(
    cards: CardManager,
    step: Step,
    desk: SurveyDesk,
    response: Response | LiveResponse,
    lang: str,
    notice: str | None = None,
    *,
    rating: str | None = None,
) -> None:
    """A survey step as a new card, the live one (the survey has the chat)."""
    shown = card(step, desk.definition(response.survey_id), response, lang, notice, rating=rating)
    await cards.send(shown, live=True)
