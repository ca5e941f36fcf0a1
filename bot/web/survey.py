"""The survey itself: one question per page, the answer posted back, then the thank-you.

Only the visitor who started a response sees it or answers it, whatever ref they bring."""

from __future__ import annotations

from dataclasses import dataclass, replace

from aiohttp import web
from multidict import MultiDict

from bot import messages
from bot.engine.definition import Question, QuestionType, SurveyDefinition
from bot.engine.flow import (
    Ask,
    InvalidAnswer,
    RawValue,
    complaint_requested,
    questions_to_ask,
)
from bot.opening import Pressed, Refused
from bot.web.complaints import complaint_link
from bot.web.keys import DESK_KEY, RATINGS_KEY, SEALS_KEY, UNITS_KEY
from bot.web.pages import (
    FormProblem,
    explain,
    in_language,
    message_page,
    page,
    read_form,
    redirect,
    say,
    survey_path,
)
from bot.web.visits import (
    Visit,
    apply_language,
    csrf_token,
    read_refusal,
    refusal_param,
    response_id_of,
    visit_of,
)
from core.models import Channel, Complaint, Response, ResponseStatus
from core.public_results import OfficeRating
from core.unit_of_work import UnitOfWork


async def _owned(request: web.Request, uow: UnitOfWork, visit: Visit) -> Response | web.Response:
    """The response a ref names, if it is this visitor's; otherwise the page to show instead.
    Someone else's survey is never shown, whatever the ref."""
    response_id = response_id_of(request.app[SEALS_KEY], request.match_info["ref"])
    response = await uow.responses.response(response_id) if response_id is not None else None
    if response is None:
        return message_page(request, visit, "web_not_found", 404)
    respondent = await uow.responses.find_respondent(visit.key)
    if respondent is None or response.respondent_id != respondent.id:
        return message_page(request, visit, "web_session_lost", 403)
    return response


async def question_page(request: web.Request) -> web.StreamResponse:
    """GET /r/{ref}: the current question, the thank-you page, or why neither."""
    visit = visit_of(request)
    async with request.app[UNITS_KEY]() as uow:
        await apply_language(uow, visit)
        owned = await _owned(request, uow, visit)
        if isinstance(owned, web.Response):
            return owned
        if owned.status is ResponseStatus.STOPPED:
            return message_page(request, visit, "nothing_in_progress", 410)
        conversation = await request.app[DESK_KEY].conversation(uow, owned)
        step = conversation.current()
        definition = conversation.definition
        if owned.status is ResponseStatus.COMPLETED or not isinstance(step, Ask):
            requested = complaint_requested(definition, conversation.answers)
            filed = await uow.complaints.filed_about(owned.id)
            rating = await office_rating(request, owned.service_point_id)
            return _thanks(request, visit, owned, definition, requested, filed, rating)
    ref = request.match_info["ref"]
    error = step.error or read_refusal(request.app[SEALS_KEY], ref, request.query.get("e"))
    first = step.number == 1 and not conversation.answers
    step = replace(step, total=questions_to_ask(definition, conversation.answers))
    return _question(request, visit, owned, definition, step, error, first)


def _question(
    request: web.Request,
    visit: Visit,
    response: Response,
    definition: SurveyDefinition,
    step: Ask,
    error: InvalidAnswer | None,
    first: bool,
) -> web.Response:
    lang = visit.lang
    return render_question(
        request,
        visit,
        definition,
        step,
        error,
        first=first,
        service=response.service.name(lang),
        agency=response.service.agency.name(lang),
        action=survey_path(request.app[SEALS_KEY], response.id),
    )


def render_question(
    request: web.Request,
    visit: Visit,
    definition: SurveyDefinition,
    step: Ask,
    error: InvalidAnswer | None,
    *,
    first: bool,
    service: str,
    agency: str,
    action: str,
) -> web.Response:
    """The page of one question, for a service survey or a data-set rating: what is rated
    (`service`, `agency`), the form posting to `action` under this page's `ref`."""
    lang = visit.lang
    context = {
        "title": in_language(definition.title, lang),
        "service": service,
        "agency": agency,
        "intro": in_language(definition.intro, lang) if first and definition.intro else None,
        "progress": say("progress", lang, {"number": step.number, "total": step.total}),
        "number": step.number,
        "total": step.total,
        "error": explain(error, lang),
        "q": question_view(step.question, lang),
        "action": action,
        "csrf": csrf_token(request.app[SEALS_KEY], request.match_info["ref"], visit.key),
    }
    return page(request, visit, "question.html", context)


@dataclass(frozen=True)
class Option:
    value: str
    label: str
    id: str


@dataclass(frozen=True)
class QuestionView:
    """A question as the template needs it: texts in one language, options as strings."""

    name: str
    kind: str
    label: str
    hint: str | None
    options: list[Option]
    optional: bool
    limit: int


def question_view(question: Question, lang: str) -> QuestionView:
    kind = question.type
    if kind is QuestionType.RATING:
        options = [Option(str(n), str(n), f"v{n}") for n in range(1, 6)]
    elif kind is QuestionType.NPS:
        options = [Option(str(n), str(n), f"v{n}") for n in range(11)]
    elif kind in (QuestionType.SELECT_ONE, QuestionType.SELECT_MULTIPLE):
        options = [Option(c.name, c.text(lang), f"v-{c.name}") for c in question.choices]
    elif kind is QuestionType.YES_NO:
        options = [
            Option("yes", messages.text("button_yes", lang), "v-yes"),
            Option("no", messages.text("button_no", lang), "v-no"),
        ]
    else:
        options = []
    return QuestionView(
        name=question.name,
        kind=kind.value,
        label=question.text(lang),
        hint=question.hint_text(lang),
        options=options,
        optional=not question.required,
        limit=question.text_limit,
    )


def _thanks(
    request: web.Request,
    visit: Visit,
    response: Response,
    definition: SurveyDefinition,
    complaint: bool,
    filed: Complaint | None,
    rating: OfficeRating | None = None,
) -> web.Response:
    """The thank-you page; after a low rating, the button that files the complaint, or once it
    is filed, its status and a link to it (the button is gone); the office's current rating
    and its public results page, when there is an office."""
    lang = visit.lang
    link = complaint_link(request, response.id) if complaint or filed else None
    if filed is not None:
        status = say(f"complaint_status_{filed.status.value}", lang)
        said = say("web_complaint_on_file", lang, {"reference": filed.reference, "status": status})
        button = "web_complaint_open"
    elif complaint and link is not None:
        # In the Mini App the chat can take the complaint too; on the plain web only this page.
        in_telegram = response.channel is Channel.MINI_APP
        said = say("complaint_noted" if in_telegram else "web_complaint_prompt", lang)
        button = "web_complaint_link"
    else:
        said, button = None, "web_complaint_link"
    context = {
        "thanks": in_language(definition.thanks, lang),
        "complaint": said,
        "complaint_url": link,
        "complaint_button": button,
        "case": None,
        "service": response.service.name(lang),
        "rating": rating.says[lang] if rating else None,
        "rating_link": (rating.link_text[lang], rating.path_in(lang)) if rating else None,
    }
    return page(request, visit, "thanks.html", context)


async def office_rating(request: web.Request, office_id: int | None) -> OfficeRating | None:
    """The office's current rating, when the results pages are composed in and there is one."""
    ratings = request.app.get(RATINGS_KEY)
    return await ratings.of_office(office_id) if ratings is not None and office_id else None


async def answer(request: web.Request) -> web.StreamResponse:
    """POST /r/{ref}: one answer (or a skip) to the current question, then back to GET."""
    visit = visit_of(request)
    seals = request.app[SEALS_KEY]
    ref = request.match_info["ref"]
    form = await read_form(request, visit, ref)
    async with request.app[UNITS_KEY]() as uow:
        owned = await _owned(request, uow, visit)
        if isinstance(owned, web.Response):
            return owned
        here = survey_path(seals, owned.id)
        if form is FormProblem.TOO_LARGE:
            refusal = refusal_param(seals, ref, InvalidAnswer("web_too_large"))
            return redirect(request, visit, f"{here}?e={refusal}")
        if isinstance(form, FormProblem):
            return message_page(request, visit, "web_bad_request", 403, back=here)
        if owned.status is not ResponseStatus.IN_PROGRESS:
            return redirect(request, visit, here)
        # The same service calls as a Telegram button: what the form refers to, then the answer.
        desk = request.app[DESK_KEY]
        definition = desk.definition(owned.survey_id)
        name, raw = raw_answer(definition, form)
        pressed = await desk.press(uow, visit.key, owned.id, _index(definition, name))
        step = await desk.answer(uow, pressed, raw) if isinstance(pressed, Pressed) else pressed
    error = step.error if isinstance(step, Ask) else None
    if isinstance(step, Refused) and step.reason == "stale_button":
        error = InvalidAnswer("not_current")  # a question the survey does not have: forged
    if error is not None:
        return redirect(request, visit, f"{here}?e={refusal_param(seals, ref, error)}")
    return redirect(request, visit, here)


def _index(definition: SurveyDefinition, name: str) -> int:
    """The posted question's index; -1 (no question) for a name the survey does not have."""
    return next((i for i, question in enumerate(definition.questions) if question.name == name), -1)


def raw_answer(definition: SurveyDefinition, form: MultiDict[str]) -> tuple[str, RawValue]:
    """The form as the engine takes it: None for a skip, a list for several choices, else one
    string. Several values for a one-value question go through as a list: the engine refuses."""
    name = form.get("question", "")
    if "skip" in form:
        return name, None
    values = form.getall("value", [])
    question = definition.question(name)
    if question is not None and question.type is QuestionType.SELECT_MULTIPLE:
        return name, values
    if len(values) == 1:
        return name, values[0]
    return name, values or ""
