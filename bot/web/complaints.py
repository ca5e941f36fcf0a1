"""Filing a complaint on the mobile page, after a low rating: the thank-you page links here.

    GET  /r/{ref}/complaint   the form (category, text, consent), or the filed complaint's status
    POST /r/{ref}/complaint   file it, then back to GET (POST/redirect/GET)

Only the visitor who answered the survey sees or files it, whatever ref they bring. The form
carries the visitor's CSRF token for this ref; a refused text comes back as `?e=<reason>`, one
of a fixed set, so nobody can put words in our mouth. The same core as the bot: a draft stored,
the text scrubbed before it is kept, the raw text never."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select
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
from core.models import Complaint, ComplaintCategory, ComplaintStatus, Respondent, Response

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
    }
)


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
        filed = await session.scalar(
            select(Complaint).where(
                Complaint.response_id == response.id, Complaint.status != ComplaintStatus.DRAFT
            )
        )
        lang = visit.lang
        if filed is not None:
            assert filed.deadline is not None
            return page(
                request,
                visit,
                "complaint_filed.html",
                {
                    "reference": filed.reference,
                    "status": text(f"complaint_status_{filed.status.value}", lang),
                    "deadline": filed.deadline.strftime("%d.%m.%Y"),
                },
            )
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
        category = form.get("category", "")
        consent = form.get("consent", "")
        if category not in {c.value for c in ComplaintCategory}:
            return redirect(request, visit, f"{here}?e=complaint_pick_category")
        if consent not in ("yes", "no"):
            return redirect(request, visit, f"{here}?e=complaint_pick_consent")
        desk = ComplaintDesk(session)
        try:
            complaint = await desk.start(respondent, response.id, visit.lang)
            if complaint.status is ComplaintStatus.DRAFT:
                complaint = await desk.draft(respondent, complaint.id)
                await desk.choose_category(complaint, category)
                scrub: Scrub = request.app[SCRUB_KEY]  # type: ignore[assignment]
                await desk.give_text(complaint, form.get("text", ""), scrub)
                await desk.submit(complaint, consent=consent == "yes")
        except ComplaintProblem as problem:
            if problem.reason in REASONS:
                return redirect(request, visit, f"{here}?e={problem.reason}")
            if problem.reason == "complaint_already_filed":
                return redirect(request, visit, here)
            return message_page(request, visit, problem.reason, 409, back=here)
    return redirect(request, visit, here)
