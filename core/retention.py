"""Keeping personal data no longer than needed: write-back addresses of people with no open
survey and no activity for a while are deleted (the answers themselves are anonymous and stay)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import utcnow
from core.models import (
    ChatAddress,
    ChatLink,
    Complaint,
    ComplaintStatus,
    Invitation,
    Response,
    ResponseStatus,
)


async def purge_idle_addresses(session: AsyncSession, idle_days: int) -> int:
    """Delete addresses whose owner has no survey in progress and none touched in `idle_days`,
    unless they asked for invitations in their chat (/link) and have not replaced the code, or
    wait for the answer to a complaint."""
    cutoff = utcnow() - timedelta(days=idle_days)
    recent_or_open = (
        select(Response.id)
        .where(
            Response.respondent_id == ChatAddress.respondent_id,
            (Response.status == ResponseStatus.IN_PROGRESS) | (Response.updated_at >= cutoff),
        )
        .correlate(ChatAddress)
    )
    linked = (
        select(ChatLink.id)
        .where(ChatLink.respondent_id == ChatAddress.respondent_id, ChatLink.revoked_at.is_(None))
        .correlate(ChatAddress)
    )
    # A citizen waiting for the answer to a complaint they asked to be answered about.
    awaiting = (
        select(Complaint.id)
        .where(
            Complaint.respondent_id == ChatAddress.respondent_id,
            Complaint.consent_to_answer.is_(True),
            Complaint.answer_rating.is_(None),
            Complaint.status != ComplaintStatus.DRAFT,
            Complaint.closed_at.is_(None) | (Complaint.closed_at >= cutoff),
        )
        .correlate(ChatAddress)
    )
    result = await session.execute(
        delete(ChatAddress)
        .where(
            ChatAddress.created_at < cutoff,
            ~exists(recent_or_open),
            ~exists(linked),
            ~exists(awaiting),
        )
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def unlink_expired_events(session: AsyncSession, keep_days: int) -> int:
    """Cut responses loose from the delivered service they answer (its invitation and its
    event, whose `external_id` the delivering system can tie to a person) once the invitation
    has been expired for `keep_days`. Until then the link serves: one response per event and
    per invitation, the funnel's completion step, a late repeat of the event. After it, a
    response keeps only what it needs: service, office, day, answers. The event itself stays
    (a repeat is still recognised) but no longer leads to any answer. Returns how many
    responses were cut loose."""
    cutoff = utcnow() - timedelta(days=keep_days)
    expired = (
        select(Invitation.id)
        .where(
            (Invitation.id == Response.invitation_id)
            | (Invitation.service_event_id == Response.service_event_id),
            Invitation.expires_at < cutoff,
        )
        .correlate(Response)
    )
    result = await session.execute(
        update(Response)
        .where(
            Response.status != ResponseStatus.IN_PROGRESS,
            (Response.invitation_id.is_not(None)) | (Response.service_event_id.is_not(None)),
            exists(expired),
        )
        .values(invitation_id=None, service_event_id=None)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
