"""Server-side sessions: the cookie holds a random token, the database its SHA-256, the user,
and when it was opened, last seen and must end. A session ends after an idle time and, however
active, after an absolute time; disabling a user or changing a password ends theirs."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiohttp import web
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.models import AdminSession, AdminUser, Agency

COOKIE = "qanagat_admin"
PRE_COOKIE = "qanagat_admin_pre"  # binds the sign-in form's CSRF token before a session exists
LANG_COOKIE = "qanagat_admin_lang"
TOUCH_EVERY = timedelta(minutes=1)  # last_seen is written at most this often


@dataclass(frozen=True)
class Lifetimes:
    idle: timedelta
    absolute: timedelta


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def csrf_token(secret: bytes, token: str) -> str:
    """The session's CSRF token: derived, so nothing more to store, and useless without it."""
    return hmac.new(secret, b"admin/csrf\0" + token_hash(token), hashlib.sha256).hexdigest()


def tokens_equal(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


async def open_session(
    db: AsyncSession, user: AdminUser, now: datetime, lifetimes: Lifetimes
) -> str:
    """A new session for `user` (committed by the caller); returns the cookie's token."""
    token = secrets.token_urlsafe(32)
    db.add(
        AdminSession(
            token_hash=token_hash(token),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + lifetimes.absolute,
        )
    )
    await db.flush()
    return token


async def live_session(
    db: AsyncSession, token: str, now: datetime, lifetimes: Lifetimes
) -> tuple[AdminSession, AdminUser, str | None] | None:
    """The session behind `token`, its user and the user's agency code, in one query; None
    when it is unknown, past its idle or absolute limit, or its user is disabled (an ended
    session is deleted). Touches last_seen."""
    row = (
        await db.execute(
            select(AdminSession, AdminUser, Agency.code)
            .join(AdminUser, AdminUser.id == AdminSession.user_id)
            .outerjoin(Agency, Agency.id == AdminUser.agency_id)
            .where(AdminSession.token_hash == token_hash(token))
        )
    ).first()
    if row is None:
        return None
    found, user, agency_code = row[0], row[1], row[2]
    ended = (
        now >= found.expires_at
        or now - found.last_seen_at >= lifetimes.idle
        or user.disabled_at is not None
        or found.created_at < user.password_changed_at
    )
    if ended:
        await db.delete(found)
        await db.commit()
        return None
    if now - found.last_seen_at >= TOUCH_EVERY:
        found.last_seen_at = now
        await db.commit()
    return found, user, agency_code


async def close_session(db: AsyncSession, session_id: int) -> None:
    await db.execute(delete(AdminSession).where(AdminSession.id == session_id))


async def close_other_sessions(db: AsyncSession, user_id: int, keep: int | None) -> None:
    statement = delete(AdminSession).where(AdminSession.user_id == user_id)
    if keep is not None:
        statement = statement.where(AdminSession.id != keep)
    await db.execute(statement)


def set_cookie(
    response: web.StreamResponse, name: str, value: str, *, path: str, secure: bool, max_age: int
) -> None:
    response.set_cookie(
        name, value, path=path, secure=secure, httponly=True, samesite="Lax", max_age=max_age
    )
