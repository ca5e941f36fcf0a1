"""The audit log: who did what and when. Written in the same transaction as the act itself
where there is one, so an act and its record stand or fall together."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.models import AuditEvent


class Action(enum.StrEnum):
    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    LOGOUT = "logout"
    PASSWORD_CHANGED = "password_changed"  # noqa: S105 (an action name, not a password)
    EXPORT = "export"
    IMPORT = "import"
    USER_ADDED = "user_added"
    USER_DISABLED = "user_disabled"
    USER_ENABLED = "user_enabled"
    USER_CHANGED = "user_changed"  # role or agency
    API_KEY_CREATED = "api_key_created"
    API_KEY_REVOKED = "api_key_revoked"
    SCORES_COMPUTED = "scores_computed"
    SCORE_RUN_DELETED = "score_run_deleted"
    RANK_RANGES_DRAWN = "rank_ranges_drawn"
    SCORE_RUN_PUBLISHED = "score_run_published"
    SCORE_RUN_WITHDRAWN = "score_run_withdrawn"
    CHANGE_NOTE_WRITTEN = "change_note_written"
    CHANGE_NOTE_APPROVED = "change_note_approved"
    CHANGE_NOTE_REJECTED = "change_note_rejected"
    POSTER = "poster"
    STAFF_CHAT_CODE = "staff_chat_code"
    STAFF_CHAT_REMOVED = "staff_chat_removed"


def record(
    db: AsyncSession,
    action: Action,
    *,
    at: datetime,
    actor: str,
    user_id: int | None = None,
    client: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Add one event to `db`'s unit of work (the caller commits)."""
    db.add(
        AuditEvent(
            at=at,
            actor=actor[:254],
            user_id=user_id,
            action=action.value,
            client=(client or "")[:64] or None,
            details=details or {},
        )
    )


async def events_page(db: AsyncSession, page: int, per_page: int) -> tuple[list[AuditEvent], int]:
    """One page of events, newest first, and how many there are in all."""
    total = int(await db.scalar(select(func.count()).select_from(AuditEvent)) or 0)
    rows = await db.scalars(
        select(AuditEvent)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    return list(rows), total
