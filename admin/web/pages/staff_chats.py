"""Staff chats: the Telegram chats that receive an agency's complaint summaries and deadline
alerts. An admin (any agency) or an agency user (its own) makes a one-time code, shown once,
that a chat sends as `/subscribe CODE`; the list shows the subscribed chats, each with a button
that unsubscribes it. Codes and removals are in the audit log."""

from __future__ import annotations

from aiohttp import web

from admin import staff_chats as data
from admin.audit import Action
from admin.web import words
from admin.web.access import add_route, allow
from admin.web.forms import form_id
from admin.web.keys import audit, config_of, lang_of, signed_in
from admin.web.render import page, redirect, url_for
from core import staff_chats
from core.models import AdminRole

MANAGERS = frozenset({AdminRole.ADMIN, AdminRole.AGENCY})


def setup(app: web.Application) -> None:
    add_route(app, "GET", "/staff-chats", chat_list, name="staff_chats")
    add_route(app, "POST", "/staff-chats/code", make_code, name="staff_chat_code")
    add_route(app, "POST", "/staff-chats/unsubscribe", unsubscribe, name="staff_chat_remove")


async def _show(
    request: web.Request,
    *,
    new_code: staff_chats.NewCode | None = None,
    code_agency: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> web.StreamResponse:
    viewer = signed_in(request)
    lang = lang_of(request)
    async with config_of(request).session_factory() as db:
        chats = await data.chat_rows(db, viewer, lang)
        agencies = await data.agency_choices(db, viewer, lang)
    return page(
        request,
        "staff_chats.html",
        {
            "chats": chats,
            "agencies": agencies,
            "new_code": new_code,
            "code_agency": code_agency,
            "error": error,
            "removed": request.query.get("removed") == "1",
            "hours": int(staff_chats.CODE_LIFETIME.total_seconds() // 3600),
        },
        status=status,
    )


@allow(MANAGERS)
async def chat_list(request: web.Request) -> web.StreamResponse:
    return await _show(request)


@allow(MANAGERS)
async def make_code(request: web.Request) -> web.StreamResponse:
    viewer = signed_in(request)
    lang = lang_of(request)
    form = await request.post()
    config = config_of(request)
    now = config.clock()
    async with config.session_factory() as db:
        choices = {a.code: a for a in await data.agency_choices(db, viewer, lang)}
        # An agency user's codes are for its own agency, whatever the form says.
        wanted = (viewer.agency_code or "") if viewer.is_agency else str(form.get("agency", ""))
        agency = choices.get(wanted)
        language = str(form.get("language", "")) or (agency.language if agency else "")
        weekly, monthly = form.get("weekly") == "1", form.get("monthly") == "1"
        problem = _code_problem(agency, language, weekly or monthly)
        if problem is not None or agency is None:
            return await _show(request, error=words.say(problem or "bad_request", lang), status=400)
        made = await staff_chats.new_code(
            db,
            config.settings.secret_bytes(),
            agency_id=agency.id,
            created_by_id=viewer.user_id,
            language=language,
            weekly=weekly,
            monthly=monthly,
            now=now,
        )
        details = {"agency": agency.code, "language": language}
        audit(request, db, Action.STAFF_CHAT_CODE, details | {"weekly": weekly, "monthly": monthly})
        await db.commit()
    return await _show(request, new_code=made, code_agency=agency.name)


def _code_problem(agency: object | None, language: str, some_period: bool) -> str | None:
    """What the code form lacks, as a message key; None: nothing."""
    if agency is None:
        return "staff_code_pick_agency"
    if language not in staff_chats.STAFF_LANGUAGES:
        return "staff_code_pick_language"
    if not some_period:
        return "staff_code_pick_period"
    return None


@allow(MANAGERS)
async def unsubscribe(request: web.Request) -> web.StreamResponse:
    viewer = signed_in(request)
    lang = lang_of(request)
    form = await request.post()
    config = config_of(request)
    chat_id = form_id(form, "chat")
    if chat_id is None:
        return await _show(request, error=words.say("staff_chat_unknown", lang), status=400)
    async with config.session_factory() as db:
        chat = await data.chat_to_remove(db, viewer, chat_id)
        if chat is None:
            return await _show(request, error=words.say("staff_chat_unknown", lang), status=404)
        agency_id, title = chat.agency_id, chat.title
        await staff_chats.remove(db, chat.id)
        codes = {a.id: a.code for a in await data.agency_choices(db, viewer, lang)}
        details = {"agency": codes.get(agency_id, ""), "chat": chat_id, "title": title or ""}
        audit(request, db, Action.STAFF_CHAT_REMOVED, details)
        await db.commit()
    return redirect(url_for(request, "staff_chats", {"removed": "1"}))
