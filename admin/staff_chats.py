"""Staff chats in the admin: the chats subscribed to an agency's summaries, what an agency user
may see of them (its own agency's only, through `admin.scope`), and the agencies a code may be
made for. Chat ids stay encrypted: the admin shows a chat by its title and number here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from admin.scope import Reader, scope
from core.models import Agency, StaffChat


@dataclass(frozen=True)
class ChatRow:
    id: int
    agency_code: str
    agency_name: str
    title: str | None
    language: str
    weekly: bool
    monthly: bool
    subscribed_at: datetime


@dataclass(frozen=True)
class AgencyChoice:
    id: int
    code: str
    name: str
    language: str  # the language its summaries are written in by default


async def chat_rows(db: AsyncSession, reader: Reader, lang: str) -> list[ChatRow]:
    rows = await db.execute(
        scope(
            select(StaffChat, Agency).join(Agency, Agency.id == StaffChat.agency_id),
            reader,
            StaffChat.agency_id,
        ).order_by(Agency.code, StaffChat.subscribed_at, StaffChat.id)
    )
    return [
        ChatRow(
            chat.id,
            agency.code,
            agency.name(lang),
            chat.title,
            chat.language,
            chat.weekly,
            chat.monthly,
            chat.subscribed_at,
        )
        for chat, agency in rows
    ]


async def agency_choices(db: AsyncSession, reader: Reader, lang: str) -> list[AgencyChoice]:
    rows = await db.scalars(scope(select(Agency), reader, Agency.id).order_by(Agency.code))
    return [
        AgencyChoice(a.id, a.code, a.name(lang), "kk" if a.language == "kk" else "ru") for a in rows
    ]


async def chat_to_remove(db: AsyncSession, reader: Reader, chat_id: int) -> StaffChat | None:
    """The chat, if `reader` may unsubscribe it; another agency's looks unknown."""
    found: StaffChat | None = await db.scalar(
        scope(select(StaffChat).where(StaffChat.id == chat_id), reader, StaffChat.agency_id)
    )
    return found
