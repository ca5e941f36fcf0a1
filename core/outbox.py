"""The invitation outbox: Telegram messages to send, kept in the database with the invitation.

`enqueue_invitation` writes one row in the caller's transaction, so an invitation and its
message exist together or not at all. A dispatcher claims due rows with a lease (on PostgreSQL
`FOR UPDATE SKIP LOCKED`, so two dispatchers never take the same row), sends, and settles each
row in its own commit right after Telegram answers. Every settling statement names the claim it
holds: a dispatcher whose lease ran out cannot overwrite what another one did since.

The clear token is needed to build the message's link; it lives here encrypted (Fernet, a key
of its own derived from the server secret) and is erased as soon as the row is settled.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import and_, case, delete, event, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.identity import AddressBox
from core.models import (
    Agency,
    ChatAddress,
    DeliveryStatus,
    Invitation,
    InvitationDelivery,
    PublicService,
    Respondent,
    ServiceEvent,
    ServicePoint,
)

TOKEN_PURPOSE = "invitation-token"  # noqa: S105 (a key-derivation label, not a secret)
OUTBOX_INFO = "qanagat.outbox"
_WAKE_PENDING = "qanagat.outbox.wake_pending"
_LISTENING = "qanagat.outbox.listening"
ERROR_LIMIT = 300  # last_error column width
LANGUAGE_COLUMNS = {"kk": 0, "ru": 1, "en": 2}  # order of the name_* columns selected


@dataclass(frozen=True)
class OutboxSetup:
    """What sessions of one process need to enqueue: the token key and how to wake a dispatcher."""

    box: AddressBox
    wake: Callable[[], None] | None = None


def token_box(secret: bytes) -> AddressBox:
    return AddressBox(secret, TOKEN_PURPOSE)


def configure_outbox(
    session_factory: async_sessionmaker[AsyncSession],
    secret: bytes,
    wake: Callable[[], None] | None = None,
) -> None:
    """Sessions from this factory encrypt tokens with `secret` and call `wake` after a commit
    that enqueued something (a wake-up only: dispatchers also poll)."""
    info = dict(session_factory.kw.get("info") or {})
    info[OUTBOX_INFO] = OutboxSetup(token_box(secret), wake)
    session_factory.configure(info=info)


@cache
def _default_setup() -> OutboxSetup:
    # A session from a factory nobody configured: the process's own settings give the key.
    from core.settings import Settings

    return OutboxSetup(token_box(Settings().secret_bytes()))


def _setup(session: AsyncSession) -> OutboxSetup:
    setup = session.info.get(OUTBOX_INFO)
    return setup if isinstance(setup, OutboxSetup) else _default_setup()


@dataclass(frozen=True)
class InvitationToSend:
    invitation_id: int
    respondent_id: int
    token: str


async def enqueue_invitation(
    session: AsyncSession, *, invitation_id: int, respondent_id: int, token: str
) -> None:
    """Queue the Telegram message of an invitation, in the caller's transaction (not committed
    here). A second call for the same invitation adds nothing: one invitation, one message."""
    await enqueue_invitations(session, [InvitationToSend(invitation_id, respondent_id, token)])


async def enqueue_invitations(session: AsyncSession, batch: Iterable[InvitationToSend]) -> None:
    """`enqueue_invitation` for many invitations in one statement (an API batch)."""
    setup = _setup(session)
    now = utcnow()
    rows = [
        {
            "invitation_id": item.invitation_id,
            "respondent_id": item.respondent_id,
            "status": DeliveryStatus.PENDING,
            "encrypted_token": setup.box.seal(item.token),
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for item in batch
    ]
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    await session.execute(
        insert(InvitationDelivery)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["invitation_id"])
    )
    if setup.wake is not None:
        _wake_after_commit(session, setup.wake)


def _wake_after_commit(session: AsyncSession, wake: Callable[[], None]) -> None:
    sync = session.sync_session
    sync.info[_WAKE_PENDING] = True
    if sync.info.get(_LISTENING):
        return
    sync.info[_LISTENING] = True

    def after_commit(committed: Session) -> None:
        if committed.info.pop(_WAKE_PENDING, False):
            wake()

    def after_rollback(rolled_back: Session) -> None:
        rolled_back.info.pop(_WAKE_PENDING, None)

    event.listen(sync, "after_commit", after_commit)
    event.listen(sync, "after_soft_rollback", lambda s, _t: after_rollback(s))


# ------------------------------------------------------------------------------ claiming


@dataclass(frozen=True)
class ClaimedDelivery:
    """A row this dispatcher holds until `lease_expires_at`, with what the message needs."""

    id: int
    invitation_id: int
    service_event_id: int
    respondent_id: int
    claim: str
    attempts: int
    lease_expires_at: datetime
    encrypted_token: bytes | None
    encrypted_address: bytes | None
    language: str
    service_name: str
    office_name: str | None
    invitation_expires_at: datetime
    invitation_used: bool


def new_claim() -> str:
    return secrets.token_hex(16)


def _due(now: datetime) -> Any:
    return or_(
        and_(
            InvitationDelivery.status == DeliveryStatus.PENDING,
            InvitationDelivery.next_attempt_at <= now,
        ),
        and_(
            InvitationDelivery.status == DeliveryStatus.SENDING,
            InvitationDelivery.lease_expires_at <= now,
        ),
    )


async def claim_due(
    session: AsyncSession, *, now: datetime, limit: int, lease: timedelta, claim: str
) -> list[ClaimedDelivery]:
    """Take up to `limit` due rows (pending and due, or claimed by someone whose lease ran out)
    for `lease`. The caller commits. On PostgreSQL, rows another transaction is claiming are
    skipped, not waited for; SQLite runs one writer at a time, so its UPDATE is the claim."""
    due = (
        select(InvitationDelivery.id)
        .where(_due(now))
        .order_by(InvitationDelivery.next_attempt_at, InvitationDelivery.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    # A row taken back from an expired lease counts as an attempt: a message that kills its
    # dispatcher every time must run out of attempts, not loop forever.
    claimed = await session.execute(
        update(InvitationDelivery)
        .where(InvitationDelivery.id.in_(due.scalar_subquery()))
        .values(
            attempts=InvitationDelivery.attempts
            + case((InvitationDelivery.status == DeliveryStatus.SENDING, 1), else_=0),
            status=DeliveryStatus.SENDING,
            lease_expires_at=now + lease,
            claim=claim,
        )
        .returning(InvitationDelivery.id)
        .execution_options(synchronize_session=False)
    )
    ids = list(claimed.scalars())
    if not ids:
        return []
    # Plain columns, no ORM objects: this runs on the dispatcher's event loop between sends,
    # and every millisecond it holds the loop makes a send late.
    service_names = (PublicService.name_kk, PublicService.name_ru, PublicService.name_en)
    office_names = (ServicePoint.name_kk, ServicePoint.name_ru, ServicePoint.name_en)
    rows = await session.execute(
        select(
            InvitationDelivery.id,
            InvitationDelivery.invitation_id,
            Invitation.service_event_id,
            InvitationDelivery.respondent_id,
            InvitationDelivery.attempts,
            InvitationDelivery.encrypted_token,
            ChatAddress.encrypted_address,
            Respondent.language,
            Agency.language,
            Invitation.expires_at,
            Invitation.used_at,
            *service_names,
            *office_names,
        )
        .join(Invitation, Invitation.id == InvitationDelivery.invitation_id)
        .join(Respondent, Respondent.id == InvitationDelivery.respondent_id)
        .outerjoin(ChatAddress, ChatAddress.respondent_id == InvitationDelivery.respondent_id)
        .join(ServiceEvent, ServiceEvent.id == Invitation.service_event_id)
        .join(PublicService, PublicService.id == ServiceEvent.service_id)
        .join(Agency, Agency.id == PublicService.agency_id)
        .outerjoin(ServicePoint, ServicePoint.id == ServiceEvent.service_point_id)
        .where(InvitationDelivery.id.in_(ids))
        .order_by(InvitationDelivery.next_attempt_at, InvitationDelivery.id)
    )
    result = []
    for row in rows.tuples():
        (delivery_id, invitation_id, event_id, respondent_id, attempts, token, address) = row[:7]
        respondent_lang, agency_lang, expires, used = row[7:11]
        services, offices = row[11:14], row[14:17]
        lang = respondent_lang or agency_lang or "kk"
        pick = LANGUAGE_COLUMNS.get(lang, 1)  # ru when a language has no column
        result.append(
            ClaimedDelivery(
                id=delivery_id,
                invitation_id=invitation_id,
                service_event_id=event_id,
                respondent_id=respondent_id,
                claim=claim,
                attempts=attempts,
                lease_expires_at=now + lease,
                encrypted_token=token,
                encrypted_address=address,
                language=lang,
                service_name=services[pick] or services[1],
                office_name=(offices[pick] or offices[1]) if offices[1] is not None else None,
                invitation_expires_at=expires,
                invitation_used=used is not None,
            )
        )
    return result


# ------------------------------------------------------------------------------ settling


def _held(delivery_id: int, claim: str) -> Any:
    return and_(
        InvitationDelivery.id == delivery_id,
        InvitationDelivery.claim == claim,
        InvitationDelivery.status == DeliveryStatus.SENDING,
    )


def _error(text: str) -> str:
    return text[:ERROR_LIMIT]


async def _settle(session: AsyncSession, delivery_id: int, claim: str, **values: Any) -> bool:
    result = await session.execute(
        update(InvitationDelivery)
        .where(_held(delivery_id, claim))
        .values(lease_expires_at=None, claim=None, **values)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


async def mark_sent(
    session: AsyncSession, delivery_id: int, claim: str, *, message_id: int, now: datetime
) -> bool:
    """Telegram took the message: the token is erased. False when the claim was lost (the
    lease ran out and another dispatcher took the row: the message may then go twice)."""
    return await _settle(
        session,
        delivery_id,
        claim,
        status=DeliveryStatus.SENT,
        sent_at=now,
        telegram_message_id=message_id,
        encrypted_token=None,
        last_error=None,
    )


async def retry_later(
    session: AsyncSession,
    delivery_id: int,
    claim: str,
    *,
    at: datetime,
    error: str,
    counts: bool = True,
) -> bool:
    """Back to pending until `at`; `counts` is False for waits that are not the message's
    fault (Telegram's flood limit, the per-chat limit, a batch released at shutdown)."""
    values: dict[str, Any] = {
        "status": DeliveryStatus.PENDING,
        "next_attempt_at": at,
        "last_error": _error(error),
    }
    if counts:
        values["attempts"] = InvitationDelivery.attempts + 1
    return await _settle(session, delivery_id, claim, **values)


async def release(session: AsyncSession, delivery_id: int, claim: str) -> bool:
    """Give a claimed row back untouched (it was never sent)."""
    return await _settle(session, delivery_id, claim, status=DeliveryStatus.PENDING)


async def give_up(
    session: AsyncSession, delivery_id: int, claim: str, *, error: str, attempted: bool = True
) -> bool:
    """No more attempts: the token is erased."""
    values: dict[str, Any] = {
        "status": DeliveryStatus.FAILED,
        "encrypted_token": None,
        "last_error": _error(error),
    }
    if attempted:
        values["attempts"] = InvitationDelivery.attempts + 1
    return await _settle(session, delivery_id, claim, **values)


async def mark_blocked(
    session: AsyncSession, delivery_id: int, claim: str, *, respondent_id: int, error: str
) -> bool:
    """The citizen blocked the bot: this row and every other one waiting for them stop, their
    tokens are erased, and the chat address is deleted so nothing more goes there."""
    held = await _settle(
        session,
        delivery_id,
        claim,
        status=DeliveryStatus.BLOCKED,
        encrypted_token=None,
        last_error=_error(error),
        attempts=InvitationDelivery.attempts + 1,
    )
    await session.execute(
        update(InvitationDelivery)
        .where(
            InvitationDelivery.respondent_id == respondent_id,
            InvitationDelivery.status == DeliveryStatus.PENDING,
        )
        .values(
            status=DeliveryStatus.BLOCKED,
            encrypted_token=None,
            last_error="an earlier message found the bot blocked",
        )
        .execution_options(synchronize_session=False)
    )
    await session.execute(delete(ChatAddress).where(ChatAddress.respondent_id == respondent_id))
    return held


async def next_due_at(session: AsyncSession) -> datetime | None:
    """When the earliest row that is waiting becomes due (to sleep no longer than needed)."""
    pending = await session.scalar(
        select(InvitationDelivery.next_attempt_at)
        .where(InvitationDelivery.status == DeliveryStatus.PENDING)
        .order_by(InvitationDelivery.next_attempt_at)
        .limit(1)
    )
    leased = await session.scalar(
        select(InvitationDelivery.lease_expires_at)
        .where(InvitationDelivery.status == DeliveryStatus.SENDING)
        .order_by(InvitationDelivery.lease_expires_at)
        .limit(1)
    )
    moments = [m for m in (pending, leased) if m is not None]
    return min(moments) if moments else None
