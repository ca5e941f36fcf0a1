""" "You said, we changed" notes: an agency's staff write what they changed after complaints and
ratings; an administrator approves (or rejects) each before the public results pages show it.
Repositories only: the use case (the admin page) audits and commits."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from core.models import ChangeNote, NoteStatus

NOTE_LANGUAGES = ("kk", "ru", "en")
NOTE_MAX_CHARS = 1000


class NoteProblem(ValueError):
    """Why a note cannot be stored: `key` is a message key (no_text, too_long)."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def note_texts(given: Mapping[str, str]) -> dict[str, str | None]:
    """The note's text per language, trimmed; at least one language, none too long."""
    texts = {lang: (given.get(lang) or "").strip() or None for lang in NOTE_LANGUAGES}
    if not any(texts.values()):
        raise NoteProblem("no_text")
    if any(text is not None and len(text) > NOTE_MAX_CHARS for text in texts.values()):
        raise NoteProblem("too_long")
    return texts


def write_note(
    session: AsyncSession,
    agency_id: int,
    office_id: int | None,
    texts: Mapping[str, str],
    by: str,
    at: datetime,
) -> ChangeNote:
    """Add a pending note (raises NoteProblem); the caller audits and commits."""
    checked = note_texts(texts)
    note = ChangeNote(
        agency_id=agency_id,
        service_point_id=office_id,
        text_kk=checked["kk"],
        text_ru=checked["ru"],
        text_en=checked["en"],
        status=NoteStatus.PENDING,
        written_at=at,
        written_by=by[:254],
    )
    session.add(note)
    return note


def review_note(note: ChangeNote, approve: bool, by: str, at: datetime) -> None:
    """Approve (public from now on) or reject a note; the caller audits and commits."""
    note.status = NoteStatus.APPROVED if approve else NoteStatus.REJECTED
    note.reviewed_at = at
    note.reviewed_by = by[:254]


async def notes_for_staff(
    session: AsyncSession, agency_ids: Sequence[int] | None, limit: int = 200
) -> list[ChangeNote]:
    """The newest notes of the given agencies (all agencies when None), any status."""
    statement = select(ChangeNote).options(
        selectinload(ChangeNote.agency), selectinload(ChangeNote.office)
    )
    if agency_ids is not None:
        statement = statement.where(ChangeNote.agency_id.in_(list(agency_ids)))
    notes = await session.scalars(statement.order_by(ChangeNote.id.desc()).limit(limit))
    return list(notes)


async def public_notes(
    session: AsyncSession, agency_id: int, office_id: int | None = None, limit: int = 20
) -> list[ChangeNote]:
    """Approved notes, newest first: an agency's page shows all of them, an office's page its
    own and the agency's notes that name no office."""
    statement = select(ChangeNote).where(
        ChangeNote.agency_id == agency_id, ChangeNote.status == NoteStatus.APPROVED
    )
    if office_id is not None:
        statement = statement.where(
            or_(ChangeNote.service_point_id == office_id, ChangeNote.service_point_id.is_(None))
        )
    found = await session.scalars(statement.order_by(ChangeNote.reviewed_at.desc()).limit(limit))
    return list(found)


async def notes_version(session: AsyncSession) -> tuple[int, int]:
    """Changes with every review: (approved notes, the highest reviewed note's id), so a
    cache of public pages knows when to read notes again."""
    row = (
        await session.execute(
            select(func.count(), func.coalesce(func.max(ChangeNote.id), 0)).where(
                ChangeNote.status == NoteStatus.APPROVED
            )
        )
    ).one()
    return int(row[0]), int(row[1])
