"""Complaints: the list (an agency user: its own agency's; admins and analysts: all, filtered by
agency, status, category, overdue) and one complaint, with the scrubbed text, its history and
deadline, and for agency users and admins the form that moves it on (in review, answer, close).
Another agency's complaint, or a forged reference, looks unknown (404). The list exports
(`?export=complaints&format=csv|xlsx`) with the same filters and scope, up to EXPORT_LIMIT
rows, and nothing about who filed them."""

from __future__ import annotations

from aiohttp import web

from admin import complaints as data
from admin.survey_questions import survey_questions
from admin.web import words
from admin.web.access import EVERYONE, add_route, allow
from admin.web.keys import config_of, lang_of, signed_in
from admin.web.render import message_page, page, redirect, url_for
from admin.web.tables import Column, Table, export_links, page_or_export
from core.clock import reporting_day
from core.complaints import ComplaintProblem, answer, move_to
from core.models import AdminRole, ComplaintCategory, ComplaintStatus

ANSWERERS = frozenset({AdminRole.ADMIN, AdminRole.AGENCY})
ACTIONS = {"in_review": ComplaintStatus.IN_REVIEW, "close": ComplaintStatus.CLOSED}
PAGE_LIMIT = 500
EXPORT_LIMIT = 10_000


def setup(app: web.Application) -> None:
    add_route(app, "GET", "/complaints", complaint_list, name="complaints")
    add_route(app, "GET", "/complaints/{reference}", complaint_page, name="complaint")
    add_route(app, "POST", "/complaints/{reference}", complaint_post, name="complaint_post")


def _filters(request: web.Request) -> data.Filters:
    query = request.query
    status = query.get("status", "")
    category = query.get("category", "")
    return data.Filters(
        agency_code=query.get("agency", "")[:64],
        status=ComplaintStatus(status)
        if status in {s.value for s in ComplaintStatus} and status != "draft"
        else None,
        category=ComplaintCategory(category)
        if category in {c.value for c in ComplaintCategory}
        else None,
        overdue=query.get("overdue") == "1",
    )


def _table(found: list[data.ComplaintView], lang: str) -> Table:
    """The list as the export writes it: codes and names, scrubbed texts, no citizen."""

    def category(view: data.ComplaintView) -> str:
        if view.category is not None:
            return words.say(f"complaint_category_{view.category.value}", lang)
        # a data set's problem report: its kind of problem is its category
        return words.say(f"dataset_problem_{view.problem.value}", lang) if view.problem else ""

    columns = [
        Column("reference", "complaint_reference"),
        Column("agency", "col_agency_code"),
        Column("service", "complaint_service"),
        Column("office", "col_office"),
        Column("category", "complaint_category"),
        Column("status", "complaint_status"),
        Column("language", "col_language"),
        Column("received", "complaint_received", "datetime"),
        Column("deadline", "complaint_deadline", "date"),
        Column("overdue", "complaint_overdue_column"),
        Column("answered", "complaint_answered_at", "datetime"),
        Column("rating", "complaint_rating", "int"),
        Column("text", "complaint_text"),
        Column("answer", "complaint_answer"),
    ]
    rows = [
        {
            "reference": view.reference,
            "agency": view.agency_code,
            "service": view.service_name,
            "office": view.office_name or "",
            "category": category(view),
            "status": words.say(f"complaint_status_{view.status.value}", lang),
            "language": view.language,
            "received": view.received_at,
            "deadline": view.deadline,
            "overdue": view.overdue,
            "answered": view.answered_at,
            "rating": view.answer_rating,
            "text": view.text or "",
            "answer": view.answer_text or "",
        }
        for view in found
    ]
    return Table("complaints", "table_complaints", columns, rows)


@allow(EVERYONE)
async def complaint_list(request: web.Request) -> web.StreamResponse:
    viewer = signed_in(request)
    lang = lang_of(request)
    filters = _filters(request)
    today = reporting_day(config_of(request).clock())
    exporting = "export" in request.query
    limit = EXPORT_LIMIT if exporting else PAGE_LIMIT
    async with config_of(request).session_factory() as db:
        found = await data.complaint_list(db, viewer, filters, lang, today, limit=limit)
        agencies = await data.agency_codes(db, viewer)
    table = _table(found, lang)
    summaries_query = {"agency": filters.agency_code} if filters.agency_code else None
    return await page_or_export(
        request,
        [table],
        lambda: page(
            request,
            "complaints.html",
            {
                "complaints": found,
                "filters": filters,
                "agencies": agencies if viewer.role is not AdminRole.AGENCY else [],
                "statuses": [s.value for s in ComplaintStatus if s is not ComplaintStatus.DRAFT],
                "categories": [c.value for c in ComplaintCategory],
                "href": lambda reference: url_for(request, "complaint", reference=reference),
                "exports": export_links(request, table),
                "summaries_href": url_for(request, "summaries", summaries_query),
            },
        ),
    )


async def _show(
    request: web.Request, *, error: str | None = None, status: int = 200
) -> web.StreamResponse:
    viewer = signed_in(request)
    lang = lang_of(request)
    reference = request.match_info["reference"]
    today = reporting_day(config_of(request).clock())
    async with config_of(request).session_factory() as db:
        found = await data.complaint_view(db, viewer, reference, lang, today)
        if found is None:
            return message_page(request, "complaint_not_found", 404)
        changes = await data.status_history(db, viewer, reference)
        questions = survey_questions(config_of(request).settings.survey_dir)
        answers = await data.survey_answers(db, viewer, reference, questions, lang)
    return page(
        request,
        "complaint.html",
        {
            "complaint": found,
            "changes": changes,
            "answers": answers,
            "can_answer": viewer.role in ANSWERERS,
            "error": error,
            "done": request.query.get("done") == "1",
            "max_answer": 4000,
        },
        status=status,
    )


@allow(EVERYONE)
async def complaint_page(request: web.Request) -> web.StreamResponse:
    return await _show(request)


@allow(ANSWERERS)
async def complaint_post(request: web.Request) -> web.StreamResponse:
    viewer = signed_in(request)
    lang = lang_of(request)
    form = await request.post()
    action = str(form.get("action", ""))
    config = config_of(request)
    now = config.clock()
    async with config.session_factory() as db:
        complaint = await data.complaint_to_change(db, viewer, request.match_info["reference"])
        if complaint is None:
            return message_page(request, "complaint_not_found", 404)
        try:
            if action == "answer":
                answer(db, complaint, str(form.get("answer", "")), viewer.email, now)
            elif action in ACTIONS:
                move_to(db, complaint, ACTIONS[action], viewer.email, now)
            else:
                raise ComplaintProblem("complaint_unknown_action")
        except ComplaintProblem as problem:
            await db.rollback()
            status = 409 if problem.reason == "complaint_move_not_allowed" else 400
            return await _show(request, error=words.say(problem.reason, lang), status=status)
        await db.commit()
        reference = complaint.reference
    if config.complaint_changed is not None:
        config.complaint_changed()
    return redirect(url_for(request, "complaint", {"done": "1"}, reference=reference))
