""" "You said, we changed": an agency's staff (or an admin, for any agency) write a short note
about what they changed after complaints and ratings, in one or more of kk, ru and en, for the
agency or one of its offices; an admin approves or rejects it before the public results pages
show it. Writing and each review are audited.

    GET  /admin/notes          the form and the notes (agency users: their own agency's)
    POST /admin/notes          write a note (pending)
    POST /admin/notes/review   approve or reject a pending note (admins)
"""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from admin.audit import Action, record
from admin.scope import scope
from admin.web import words
from admin.web.access import ADMINS, add_route, allow
from admin.web.forms import form_id, form_text
from admin.web.keys import client_of, config_of, lang_of, signed_in
from admin.web.render import page, redirect, url_for
from core.change_notes import (
    NOTE_LANGUAGES,
    NOTE_MAX_CHARS,
    NoteProblem,
    notes_for_staff,
    review_note,
    write_note,
)
from core.models import AdminRole, Agency, ChangeNote, NoteStatus, ServicePoint

WRITERS = frozenset({AdminRole.ADMIN, AdminRole.AGENCY})


def setup(app: web.Application) -> None:
    add_route(app, "GET", "/notes", notes_page, name="change_notes")
    add_route(app, "POST", "/notes", write, name="change_note_write")
    add_route(app, "POST", "/notes/review", review, name="change_note_review")


async def _show(
    request: web.Request, *, error: str | None = None, status: int = 200
) -> web.StreamResponse:
    viewer = signed_in(request)
    lang = lang_of(request)
    async with config_of(request).session_factory() as db:
        agencies = list(
            await db.scalars(scope(select(Agency), viewer, Agency.id).order_by(Agency.code))
        )
        offices = list(
            await db.scalars(
                scope(select(ServicePoint), viewer, ServicePoint.agency_id).order_by(
                    ServicePoint.code
                )
            )
        )
        notes = await notes_for_staff(db, [viewer.agency_id or 0] if viewer.is_agency else None)
    return page(
        request,
        "change_notes.html",
        {
            "agencies": [(a.code, a.name(lang)) for a in agencies],
            "offices": [(o.code, o.name(lang)) for o in offices],
            "notes": [
                {
                    "id": note.id,
                    "agency": note.agency.code,
                    "office": note.office.name(lang) if note.office is not None else "",
                    "texts": [
                        (code, note.text(code)) for code in NOTE_LANGUAGES if note.text(code)
                    ],
                    "status": note.status.value,
                    "written": note.written_at.strftime("%d.%m.%Y %H:%M UTC"),
                    "by": note.written_by,
                }
                for note in notes
            ],
            "is_admin": viewer.role is AdminRole.ADMIN,
            "max_chars": NOTE_MAX_CHARS,
            "error": error,
            "done": request.query.get("done", "") if request.query.get("done") in _DONE else "",
        },
        status=status,
    )


_DONE = ("written", "approved", "rejected")


@allow(WRITERS)
async def notes_page(request: web.Request) -> web.StreamResponse:
    return await _show(request)


@allow(WRITERS)
async def write(request: web.Request) -> web.StreamResponse:
    viewer = signed_in(request)
    lang = lang_of(request)
    config = config_of(request)
    form = await request.post()
    texts = {code: form_text(form, f"text_{code}", NOTE_MAX_CHARS + 1) for code in NOTE_LANGUAGES}
    async with config.session_factory() as db:
        # an agency user's notes are about its own agency, whatever the form says
        code = (viewer.agency_code or "") if viewer.is_agency else form_text(form, "agency", 64)
        agency = await db.scalar(
            scope(select(Agency).where(Agency.code == code), viewer, Agency.id)
        )
        if agency is None:
            return await _show(request, error=words.say("note_pick_agency", lang), status=400)
        office_code = form_text(form, "office", 64)
        office = None
        if office_code:
            office = await db.scalar(
                select(ServicePoint).where(
                    ServicePoint.code == office_code, ServicePoint.agency_id == agency.id
                )
            )
            if office is None:
                return await _show(request, error=words.say("note_office_other", lang), status=400)
        try:
            note = write_note(
                db, agency.id, office.id if office else None, texts, viewer.email, config.clock()
            )
        except NoteProblem as problem:
            return await _show(request, error=words.say(f"note_{problem.key}", lang), status=400)
        await db.flush()
        record(
            db,
            Action.CHANGE_NOTE_WRITTEN,
            at=config.clock(),
            actor=viewer.email,
            user_id=viewer.user_id,
            client=client_of(request),
            details={
                "note": note.id,
                "agency": agency.code,
                "office": office.code if office else None,
                "languages": [c for c in NOTE_LANGUAGES if note.text(c)],
            },
        )
        await db.commit()
    return redirect(url_for(request, "change_notes", {"done": "written"}))


@allow(ADMINS)
async def review(request: web.Request) -> web.StreamResponse:
    viewer = signed_in(request)
    lang = lang_of(request)
    config = config_of(request)
    form = await request.post()
    note_id = form_id(form, "note")
    decision = form_text(form, "decision", 16)
    if note_id is None or decision not in ("approve", "reject"):
        return await _show(request, error=words.say("note_unknown", lang), status=400)
    async with config.session_factory() as db:
        note = await db.get(ChangeNote, note_id)
        if note is None or note.status is not NoteStatus.PENDING:
            return await _show(request, error=words.say("note_unknown", lang), status=404)
        approve = decision == "approve"
        review_note(note, approve, viewer.email, config.clock())
        record(
            db,
            Action.CHANGE_NOTE_APPROVED if approve else Action.CHANGE_NOTE_REJECTED,
            at=config.clock(),
            actor=viewer.email,
            user_id=viewer.user_id,
            client=client_of(request),
            details={"note": note.id, "agency_id": note.agency_id},
        )
        await db.commit()
    return redirect(
        url_for(request, "change_notes", {"done": "approved" if approve else "rejected"})
    )
