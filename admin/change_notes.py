"""What the admin's change-notes page reads and where a new note goes: the agencies and offices
a person may write about, the notes they see, and the agency and office a form names (an agency
user's notes are about its own agency, whatever the form says)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from admin.scope import Reader, scope
from core.change_notes import notes_for_staff
from core.models import AdminRole, Agency, ChangeNote, ServicePoint


@dataclass(frozen=True)
class NoteDesk:
    """The page's choices and the notes its reader sees."""

    agencies: list[Agency]
    offices: list[ServicePoint]
    notes: list[ChangeNote]


@dataclass(frozen=True)
class NoteTarget:
    """Where a note goes; `problem` (a message key) when the form names nowhere allowed."""

    agency: Agency | None = None
    office: ServicePoint | None = None
    problem: str | None = None


async def note_desk(db: AsyncSession, reader: Reader) -> NoteDesk:
    agencies = await db.scalars(scope(select(Agency), reader, Agency.id).order_by(Agency.code))
    offices = await db.scalars(
        scope(select(ServicePoint), reader, ServicePoint.agency_id).order_by(ServicePoint.code)
    )
    own = [reader.agency_id or 0] if reader.role is AdminRole.AGENCY else None
    return NoteDesk(list(agencies), list(offices), await notes_for_staff(db, own))


async def note_target(
    db: AsyncSession, reader: Reader, agency_code: str, office_code: str
) -> NoteTarget:
    agency = await db.scalar(
        scope(select(Agency).where(Agency.code == agency_code), reader, Agency.id)
    )
    if agency is None:
        return NoteTarget(problem="note_pick_agency")
    if not office_code:
        return NoteTarget(agency)
    office = await db.scalar(
        select(ServicePoint).where(
            ServicePoint.code == office_code, ServicePoint.agency_id == agency.id
        )
    )
    return NoteTarget(agency, office) if office else NoteTarget(problem="note_office_other")
