"""Filing a complaint on the mobile page, after a low rating: the thank-you page links here.

    GET  /r/{ref}/complaint   the form (category, text, consent), or the filed complaint: its
                              status, history, the agency's answer and the form to rate it
    POST /r/{ref}/complaint   file it (or rate the answer), then back to GET (POST/redirect/GET)

Only the visitor who answered the survey sees or files it, whatever ref they bring. The form
carries the visitor's CSRF token for this ref; a refused text comes back as `?e=<reason>`, one
of a fixed set, so nobody can put words in our mouth. The same core as the bot: a draft stored,
the text scrubbed before it is kept, the raw text never."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web
from multidict import MultiDict
from sqlalchemy.ext.asyncio import AsyncSession

from bot.messages import text
from bot.web.keys import SEALS_KEY, SESSIONS_KEY
from bot.web.pages import (
    FormProblem,
    guarded,
    message_page,
    page,
    read_form,
    redirect,
    survey_path,
    wrong_method,
)
from bot.web.visits import Visit, csrf_token, find_respondent, response_id_of, visit_of
from core.complaints import MAX_TEXT, ComplaintDesk, ComplaintProblem, Scrub
from core.language import day, moment
from core.models import (
    Channel,
    Complaint,
    ComplaintCategory,
    ComplaintStatus,
    Respondent,
    Response,
)

SCRUB_KEY = web.AppKey("qanagat_web_complaint_scrub", object)
# The reasons `?e=` may name: anything else in the query is ignored.
REASONS = frozenset(
    {
        "complaint_text_empty",
        "complaint_text_too_long",
        "complaint_text_no_words",
        "complaint_text_script",
        "complaint_pick_category",
        "complaint_pick_consent",
        "web_complaint_pick_consent",
    }
)
# What rating an answer may say back (`?e=` on the filed complaint's page).
RATING_REASONS = frozenset({"web_complaint_pick_rating", "complaint_already_rated"})


def setup_web_complaints(app: web.Application, scrub: Scrub) -> None:
    """Mount the complaint form next to the survey pages (after `setup_web_channel`)."""
    app[SCRUB_KEY] = scrub
    resource = app.router.add_resource("/r/{ref}/complaint")
    resource.add_route("GET", guarded(complaint_page))
    resource.add_route("HEAD", guarded(complaint_page))
    resource.add_route("POST", guarded(file_complaint))
    resource.add_route("*", guarded(wrong_method))


def complaint_path(request: web.Request, response_id: int) -> str:
    return survey_path(request.app[SEALS_KEY], response_id) + "/complaint"


def complaint_link(request: web.Request, response_id: int) -> str | None:
    """Where the thank-you page sends a citizen who asked to complain (None if not mounted)."""
    return complaint_path(request, response_id) if SCRUB_KEY in request.app else None


async def _owner(
    request: web.Request, session: AsyncSession, visit: Visit
) -> tuple[Respondent, Response] | web.Response:
    response_id = response_id_of(request.app[SEALS_KEY], request.match_info["ref"])
    response = await session.get(Response, response_id) if response_id is not None else None
    if response is None:
        return message_page(request, visit, "web_not_found", 404)
    respondent = await find_respondent(session, visit.key)
    if respondent is None or response.respondent_id != respondent.id:
        return message_page(request, visit, "web_session_lost", 403)
    return respondent, response


async def complaint_page(request: web.Request) -> web.StreamResponse:
    visit = visit_of(request)
    async with request.app[SESSIONS_KEY]() as session:
        owned = await _owner(request, session, visit)
        if isinstance(owned, web.Response):
            return owned
        _respondent, response = owned
        complaints = ComplaintDesk(session)
        filed = await complaints.filed_about(response.id)
        lang = visit.lang
        if filed is not None:
            here = complaint_path(request, response.id)
            case = await complaint_case(request, complaints, filed, visit, here)
            return page(request, visit, "complaint_filed.html", {"case": case})
        reason = request.query.get("e", "")
        return page(
            request,
            visit,
            "complaint.html",
            {
                "error": text(reason, lang, limit=MAX_TEXT) if reason in REASONS else None,
                "categories": [
                    (c.value, text(f"complaint_category_{c.value}", lang))
                    for c in ComplaintCategory
                ],
                "limit": MAX_TEXT,
                "in_chat": visit.channel is Channel.MINI_APP,
                "action": complaint_path(request, response.id),
                "csrf": csrf_token(request.app[SEALS_KEY], request.match_info["ref"], visit.key),
            },
        )


async def file_complaint(request: web.Request) -> web.StreamResponse:
    visit = visit_of(request)
    ref = request.match_info["ref"]
    form = await read_form(request, visit, ref)
    async with request.app[SESSIONS_KEY]() as session:
        owned = await _owner(request, session, visit)
        if isinstance(owned, web.Response):
            return owned
        respondent, response = owned
        here = complaint_path(request, response.id)
        if form is FormProblem.TOO_LARGE:
            return redirect(request, visit, f"{here}?e=complaint_text_too_long")
        if isinstance(form, FormProblem):
            return message_page(request, visit, "web_bad_request", 403, back=here)
        desk = ComplaintDesk(session)
        if "rating" in form:
            filed = await desk.filed_about(response.id)
            rated = await rate_from_form(request, visit, desk, respondent, filed, form, here)
            await session.commit()
            return rated
        category = form.get("category", "")
        consent = form.get("consent", "")
        if category not in {c.value for c in ComplaintCategory}:
            return redirect(request, visit, f"{here}?e=complaint_pick_category")
        if consent not in ("yes", "no"):
            return redirect(request, visit, f"{here}?e={_consent_reason(visit)}")
        try:
            complaint = await desk.start(respondent, response.id, visit.lang)
            if complaint.status is ComplaintStatus.DRAFT:
                complaint = await desk.draft(respondent, complaint.id)
                await desk.choose_category(complaint, category)
                scrub: Scrub = request.app[SCRUB_KEY]  # type: ignore[assignment]
                await desk.give_text(complaint, form.get("text", ""), scrub)
                await desk.submit(complaint, consent=consent == "yes")
        except ComplaintProblem as problem:
            await session.commit()  # the draft as far as it got, as the chat keeps it
            if problem.reason in REASONS:
                return redirect(request, visit, f"{here}?e={problem.reason}")
            if problem.reason == "complaint_already_filed":
                return redirect(request, visit, here)
            return message_page(request, visit, problem.reason, 409, back=here)
        await session.commit()
    return redirect(request, visit, here)


def _consent_reason(visit: Visit) -> str:
    """In the Mini App the answer comes to the chat; on the plain web, to the page."""
    return (
        "complaint_pick_consent"
        if visit.channel is Channel.MINI_APP
        else "web_complaint_pick_consent"
    )


# A filed complaint or problem report, as its citizen sees it -------------------------------


async def complaint_case(
    request: web.Request,
    complaints: ComplaintDesk,
    complaint: Complaint,
    visit: Visit,
    here: str,
) -> Mapping[str, Any]:
    """What the `complaint_state.html` block shows of a filed complaint: its status and history,
    where the answer will come, the answer, and the form that rates it (posting to `here`)."""
    lang = visit.lang
    # A data set's report on the web never asks (the answer is shown here anyway).
    if complaint.consent_to_answer is False and complaint.dataset_id is None:
        where = [text("web_complaint_no_answer_wanted", lang)]
    elif visit.channel is Channel.MINI_APP:
        where = [
            text("web_complaint_answer_here", lang),
            text("web_complaint_answer_in_chat", lang),
        ]
    else:
        where = [text("web_complaint_answer_here", lang)]
    reason = request.query.get("e", "")
    return {
        "filed": _with_reference(
            "web_dataset_report_filed"
            if complaint.dataset_id is not None
            else "web_complaint_filed",
            lang,
            complaint.reference,
            day(complaint.deadline, lang) if complaint.deadline else "",
        ),
        "status": text("web_complaint_status_now", lang, status=_status(complaint, lang)),
        "where": [] if complaint.answer_text else where,
        "history": [
            {"status": _status_word(change.status, lang), "at": moment(change.at, lang)}
            for change in await complaints.history(complaint.id)
        ],
        "answer": complaint.answer_text,
        "rated": text("web_complaint_rated", lang, rating=complaint.answer_rating)
        if complaint.answer_rating is not None
        else None,
        "can_rate": complaint.answer_text is not None and complaint.answer_rating is None,
        "error": text(reason, lang) if reason in RATING_REASONS else None,
        "action": here,
        "csrf": csrf_token(request.app[SEALS_KEY], request.match_info["ref"], visit.key),
    }


def _with_reference(key: str, lang: str, reference: str, deadline: str) -> list[str]:
    """The filed sentence as [before, reference, after], so the page keeps the reference on
    one line. A long date ends with a full stop of its own in ru (2026 г.); where the sentence
    puts one after it, one is enough."""
    template = text(key, lang)
    if template.endswith("{deadline}.") and deadline.endswith("."):
        deadline = deadline[:-1]
    before, _, after = template.partition("{reference}")
    return [before.format(deadline=deadline), reference, after.format(deadline=deadline)]


def _status(complaint: Complaint, lang: str) -> str:
    return _status_word(complaint.status, lang)


def _status_word(status: ComplaintStatus, lang: str) -> str:
    return text(f"complaint_status_{status.value}", lang)


async def rate_from_form(
    request: web.Request,
    visit: Visit,
    complaints: ComplaintDesk,
    respondent: Respondent,
    complaint: Complaint | None,
    form: MultiDict[str],
    here: str,
) -> web.Response:
    """The citizen's 1-5 rating of the agency's answer, as the Telegram buttons take it: once,
    only their own complaint, only after an answer; then back to the complaint's page. The
    caller commits."""
    value = form.get("rating", "")
    if complaint is None or value not in {"1", "2", "3", "4", "5"}:
        return redirect(request, visit, f"{here}?e=web_complaint_pick_rating")
    try:
        await complaints.rate_answer(respondent, complaint.id, int(value))
    except ComplaintProblem as problem:
        if problem.reason == "complaint_already_rated":
            return redirect(request, visit, f"{here}?e=complaint_already_rated")
        return message_page(request, visit, problem.reason, 409, back=here)
    return redirect(request, visit, here)
