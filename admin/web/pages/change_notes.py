""" "You said, we changed": an agency's staff (or an admin, for any agency) write a short note
about what they changed after complaints and ratings, in one or more of kk, ru and en, for the
agency or one of its offices; an admin approves or rejects it before the public results pages
show it. Writing and each review are audited.

    GET  /admin/notes          the form and the notes (agency users: their own agency's)
    POST /admin/notes          write a note (pending)
    POST /admin/notes/review   approve or reject a pending note (admins)
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from admin.audit import Action
from admin.change_notes import note_desk, note_target
from admin.web import words
from admin.web.access import ADMINS, add_route, allow
from admin.web.forms import form_id, form_text
from admin.web.keys import audit, config_of, lang_of, signed_in
from admin.web.render import Formats, page, redirect, url_for
from core.change_notes import NOTE_LANGUAGES, NOTE_MAX_CHARS, NoteProblem, review_note, write_note
from core.models import AdminRole, ChangeNote, NoteStatus

WRITERS = frozenset({AdminRole.ADMIN, AdminRole.AGENCY})
_DONE = ("written", "approved", "rejected")


def setup(app: web.Application) -> None:
    add_route(app, "GET", "/notes", notes_page, name="change_notes")
    add_route(app, "POST", "/notes", write, name="change_note_write")
    add_route(app, "POST", "/notes/review", review, name="change_note_review")


def _note_row(note: ChangeNote, lang: str) -> dict[str, Any]:
    return {
        "id": note.id,
        "agency": note.agency.code,
        "office": note.office.name(lang) if note.office is not None else "",
        "texts": [(code, note.text(code)) for code in NOTE_LANGUAGES if note.text(code)],
        "status": note.status.value,
        "written": Formats(lang).datetime(note.written_at),
        "by": note.written_by,
    }


async def _show(
    request: web.Request, *, error: str | None = None, status: int = 200
) -> web.StreamResponse:
    viewer = signed_in(request)
    lang = lang_of(request)
    async with config_of(request).session_factory() as db:
        desk = await note_desk(db, viewer)
        context = {
            "agencies": [(a.code, a.name(lang)) for a in desk.agencies],
            "offices": [(o.code, o.name(lang)) for o in desk.offices],
            "notes": [_note_row(note, lang) for note in desk.notes],
            "is_admin": viewer.role is AdminRole.ADMIN,
            "max_chars": NOTE_MAX_CHARS,
            "error": error,
            "done": request.query.get("done", "") if request.query.get("done") in _DONE else "",
        }
    return page(request, "change_notes.html", context, status=status)


@allow(WRITERS)
async def notes_page(request: web.Request) -> web.StreamResponse:
    return await _show(request)


@allow(WRITERS)
async def write(request: web.Request) -> web.StreamResponse:
    viewer = signed_in(request)
    config = config_of(request)
    form = await request.post()
    texts = {code: form_text(form, f"text_{code}", NOTE_MAX_CHARS + 1) for code in NOTE_LANGUAGES}
    code = (viewer.agency_code or "") if viewer.is_agency else form_text(form, "agency", 64)
    async with config.session_factory() as db:
        target = await note_target(db, viewer, code, form_text(form, "office", 64))
        if target.agency is None:
            return await _refused(request, target.problem or "note_pick_agency", 400)
        agency, office = target.agency, target.office
        try:
            note = write_note(
                db, agency.id, office.id if office else None, texts, viewer.email, config.clock()
            )
        except NoteProblem as problem:
            return await _refused(request, f"note_{problem.key}", 400)
        await db.flush()
        audit(request, db, Action.CHANGE_NOTE_WRITTEN, {
            "note": note.id,
            "agency": agency.code,
            "office": office.code if office else None,
            "languages": [c for c in NOTE_LANGUAGES if note.text(c)],
        })  # fmt: skip
        await db.commit()
    return redirect(url_for(request, "change_notes", {"done": "written"}))


@allow(ADMINS)
async def review(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    note_id = form_id(form, "note")
    decision = form_text(form, "decision", 16)
    if note_id is None or decision not in ("approve", "reject"):
        return await _refused(request, "note_unknown", 400)
    approve = decision == "approve"
    async with config_of(request).session_factory() as db:
        note = await db.get(ChangeNote, note_id)
        if note is None or note.status is not NoteStatus.PENDING:
            return await _refused(request, "note_unknown", 404)
        review_note(note, approve, signed_in(request).email, config_of(request).clock())
        action = Action.CHANGE_NOTE_APPROVED if approve else Action.CHANGE_NOTE_REJECTED
        audit(request, db, action, {"note": note.id, "agency_id": note.agency_id})
        await db.commit()
    done = "approved" if approve else "rejected"
    return redirect(url_for(request, "change_notes", {"done": done}))


async def _refused(request: web.Request, key: str, status: int) -> web.StreamResponse:
    return await _show(request, error=words.say(key, lang_of(request)), status=status)
