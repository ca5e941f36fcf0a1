"""Invitations: single-use tokens bound to one delivered service, stored only as hashes."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import utcnow
from core.identity import new_token, token_hash
from core.models import Invitation, ServiceEvent, ServicePoint

OFFICE_PREFIX = "o-"  # deep-link payloads starting with this name an office, not an invitation


class InvitationProblem(enum.StrEnum):
    UNKNOWN = "invitation_unknown"
    EXPIRED = "invitation_expired"
    USED = "invitation_used"


@dataclass(frozen=True)
class IssuedInvitation:
    invitation: Invitation
    token: str


def is_office_payload(payload: str) -> bool:
    return payload.startswith(OFFICE_PREFIX)


def fresh_token() -> str:
    token = new_token()
    while is_office_payload(token):
        token = new_token()
    return token


async def issue(
    session: AsyncSession, event: ServiceEvent, survey_id: str, ttl_hours: int
) -> IssuedInvitation:
    """Create the one invitation of a service event; the clear token exists only in the result."""
    token = fresh_token()
    invitation = Invitation(
        service_event_id=event.id,
        token_hash=token_hash(token),
        survey_id=survey_id,
        expires_at=utcnow() + timedelta(hours=ttl_hours),
    )
    session.add(invitation)
    await session.flush()
    return IssuedInvitation(invitation, token)


# The invitation a token opens is looked up by `core.responses.ResponseStore.invitation_opening`
# (with what opening its response needs, in one round trip).


async def find_office(session: AsyncSession, code: str) -> ServicePoint | None:
    if not code or len(code) > 64:
        return None
    office: ServicePoint | None = await session.scalar(
        select(ServicePoint).where(ServicePoint.code == code)
    )
    return office
