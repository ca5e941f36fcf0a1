"""Staff chats: an agency's Telegram chats that receive its complaint summaries and deadline
alerts. An admin user generates a one-time code for the agency; `/subscribe CODE` in a chat
subscribes it; `/unsubscribe` there, or the admin, ends it.

Codes are stored as an HMAC only, live 24 hours and work once. The chat id is stored
encrypted (AddressBox); a keyed hash of it (`chat_key`) lets the database refuse a second
subscription of one chat to one agency without the id being readable."""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from core.chat_links import ALPHABET, normalise
from core.identity import AddressBox, respondent_key
from core.models import Agency, StaffChat, StaffChatCode

CODE_LENGTH = 12  # 60 bits: single-use and short-lived, typed once into a chat
CODE_LIFETIME = timedelta(hours=24)
STAFF_LANGUAGES = ("kk", "ru")


class Refusal(enum.StrEnum):
    """Why `/subscribe CODE` did not subscribe the chat (message keys in bot/messages.yaml)."""

    UNKNOWN = "staff_code_unknown"  # mistyped or forged
    USED = "staff_code_used"
    EXPIRED = "staff_code_expired"
    ALREADY = "staff_chat_already"  # this chat is already subscribed to that agency


@dataclass(frozen=True)
class NewCode:
    code: str  # as shown once to the admin user, e.g. "7KQD-3M9X-T2PA"
    expires_at: datetime


@dataclass(frozen=True)
class Subscribed:
    chat: StaffChat
    agency: Agency


def code_hash(secret: bytes, code: str) -> bytes:
    key = hmac.new(secret, b"qanagat/staff-chat-code", hashlib.sha256).digest()
    return hmac.new(key, normalise(code).encode("ascii", "replace"), hashlib.sha256).digest()


def chat_key(secret: bytes, chat_id: int | str) -> str:
    """The keyed hash a chat is known by in the database (the id itself is encrypted)."""
    return respondent_key(secret, "telegram-staff-chat", chat_id)


def display(code: str) -> str:
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


async def new_code(
    session: AsyncSession,
    secret: bytes,
    *,
    agency_id: int,
    created_by_id: int | None,
    language: str,
    weekly: bool,
    monthly: bool,
    now: datetime,
) -> NewCode:
    """A fresh one-time code for the agency; the clear code is returned once, never stored.
    The caller commits (with its audit record)."""
    if language not in STAFF_LANGUAGES:
        raise ValueError(f"summaries are written in kk or ru, not {language!r}")
    code = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    expires_at = now + CODE_LIFETIME
    session.add(
        StaffChatCode(
            code_hash=code_hash(secret, code),
            agency_id=agency_id,
            created_by_id=created_by_id,
            language=language,
            weekly=weekly or not monthly,  # a chat gets at least the weekly summary
            monthly=monthly,
            created_at=now,
            expires_at=expires_at,
        )
    )
    await session.flush()
    return NewCode(display(code), expires_at)


async def subscribe(
    session: AsyncSession,
    secret: bytes,
    box: AddressBox,
    *,
    code: str,
    chat_id: int,
    title: str | None,
    now: datetime,
) -> Subscribed | Refusal:
    """Subscribe the chat with a code: the code is spent in the same transaction (a conditional
    update, so two chats racing for one code cannot both win). Does not commit: the caller
    commits before it replies; a refusal has written nothing."""
    digest = code_hash(secret, code)
    found = await session.scalar(select(StaffChatCode).where(StaffChatCode.code_hash == digest))
    if found is None:
        return Refusal.UNKNOWN
    if found.used_at is not None:
        return Refusal.USED
    if found.expires_at <= now:
        return Refusal.EXPIRED
    key = chat_key(secret, chat_id)
    already = await session.scalar(
        select(StaffChat.id).where(
            StaffChat.agency_id == found.agency_id, StaffChat.chat_key == key
        )
    )
    if already is not None:
        return Refusal.ALREADY
    spent = await session.execute(
        update(StaffChatCode)
        .where(StaffChatCode.id == found.id, StaffChatCode.used_at.is_(None))
        .values(used_at=now)
    )
    if spent.rowcount != 1:  # type: ignore[attr-defined]
        await session.rollback()
        return Refusal.USED
    chat = StaffChat(
        agency_id=found.agency_id,
        chat_key=key,
        encrypted_chat_id=box.seal(str(chat_id)),
        title=(title or "")[:255] or None,
        language=found.language,
        weekly=found.weekly,
        monthly=found.monthly,
        subscribed_at=now,
        code_id=found.id,
    )
    session.add(chat)
    try:
        await session.flush()  # the unique key is checked here, not at the caller's commit
    except IntegrityError:  # the same chat subscribed to the agency a moment ago
        await session.rollback()
        return Refusal.ALREADY
    agency = await session.get(Agency, found.agency_id)
    assert agency is not None
    return Subscribed(chat, agency)


async def unsubscribe_chat(session: AsyncSession, secret: bytes, chat_id: int) -> list[str]:
    """`/unsubscribe` in a chat: end every subscription of that chat; returns the agencies'
    codes it was subscribed to. What was owed to it goes too (cascade). Does not commit."""
    key = chat_key(secret, chat_id)
    rows = await session.execute(
        select(StaffChat.id, Agency.code)
        .join(Agency, Agency.id == StaffChat.agency_id)
        .where(StaffChat.chat_key == key)
        .order_by(Agency.code)
    )
    found = list(rows)
    if found:
        await session.execute(delete(StaffChat).where(StaffChat.id.in_([i for i, _ in found])))
    return [code for _, code in found]


async def remove(session: AsyncSession, staff_chat_id: int) -> StaffChat | None:
    """Delete one subscription (the admin's unsubscribe, or a chat that blocked the bot);
    returns it, or None when it was gone. The caller commits."""
    chat = await session.get(StaffChat, staff_chat_id)
    if chat is not None:
        await session.delete(chat)
        await session.flush()
    return chat


async def chats_of(session: AsyncSession, agency_id: int | None = None) -> list[StaffChat]:
    """Subscribed chats, of one agency or of all, oldest first."""
    statement = select(StaffChat).order_by(StaffChat.agency_id, StaffChat.subscribed_at)
    if agency_id is not None:
        statement = statement.where(StaffChat.agency_id == agency_id)
    return list(await session.scalars(statement))
