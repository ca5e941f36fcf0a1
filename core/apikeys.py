"""API keys of integrations (service-centre queue systems, eGov): random, shown once, stored as
SHA-256, scoped to agencies, revocable, with an optional signing secret for HMAC signatures."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from core.clock import utcnow
from core.identity import SecretBox
from core.models import Agency, ApiKey

__all__ = ["ApiKey", "CreatedKey", "UnknownAgencies", "create", "find", "revoke"]

KEY_PREFIX = "qk_"
SIGNING_PREFIX = "qs_"
SIGNING_PURPOSE = "api/signing-secret"
LAST_USED_RESOLUTION = timedelta(minutes=1)  # at most one write per key per minute


@dataclass(frozen=True)
class CreatedKey:
    """What `create` hands out once: the clear key (and signing secret) are never stored."""

    api_key: ApiKey
    key: str
    signing_secret: str | None


class UnknownAgencies(ValueError):
    def __init__(self, codes: Sequence[str]) -> None:
        super().__init__(f"unknown agency code(s): {', '.join(codes)}")
        self.codes = list(codes)


def key_hash(key: str) -> bytes:
    # Keys carry 192 random bits: a fast hash is enough, nothing to brute-force.
    return hashlib.sha256(key.encode("utf-8", "replace")).digest()


def signing_box(secret: bytes) -> SecretBox:
    return SecretBox(secret, SIGNING_PURPOSE)


async def create(
    session: AsyncSession,
    server_secret: bytes,
    name: str,
    agency_codes: Sequence[str] | None,
    *,
    with_signing_secret: bool = False,
) -> CreatedKey:
    """A new key for `name`, scoped to `agency_codes` (None: every agency), in the session's
    transaction: the caller commits it (the admin web with its audit record)."""
    if agency_codes is not None:
        codes = sorted(set(agency_codes))
        known = set(await session.scalars(select(Agency.code).where(Agency.code.in_(codes))))
        missing = [code for code in codes if code not in known]
        if missing:
            raise UnknownAgencies(missing)
        agency_codes = codes
    key = KEY_PREFIX + secrets.token_urlsafe(24)
    signing_secret = SIGNING_PREFIX + secrets.token_urlsafe(32) if with_signing_secret else None
    api_key = ApiKey(
        name=name[:100],
        key_hash=key_hash(key),
        prefix=key[:10],
        agency_codes=list(agency_codes) if agency_codes is not None else None,
        sealed_signing_secret=(
            signing_box(server_secret).seal(signing_secret) if signing_secret else None
        ),
        created_at=utcnow(),
    )
    session.add(api_key)
    await session.flush()
    return CreatedKey(api_key, key, signing_secret)


async def all_keys(session: AsyncSession) -> list[ApiKey]:
    return list(await session.scalars(select(ApiKey).order_by(ApiKey.id)))


async def revoke(session: AsyncSession, key_id: int) -> ApiKey | None:
    """Revoke a key (idempotent); None when there is no such key. The caller commits."""
    api_key = await session.get(ApiKey, key_id)
    if api_key is None:
        return None
    if api_key.revoked_at is None:
        api_key.revoked_at = utcnow()
    return api_key


async def find(session: AsyncSession, key: str) -> ApiKey | None:
    """The key with this clear value, revoked or not (the caller says which is which)."""
    if not key or len(key) > 200:
        return None
    found: ApiKey | None = await session.scalar(
        select(ApiKey).where(ApiKey.key_hash == key_hash(key))
    )
    return found


async def mark_used(session: AsyncSession, api_key: ApiKey) -> None:
    """Record when a key was last used, at most once a minute per key, in the session's
    transaction (the caller commits)."""
    now = utcnow()
    if api_key.last_used_at is not None and now - api_key.last_used_at < LAST_USED_RESOLUTION:
        return
    await session.execute(
        update(ApiKey)
        .where(
            ApiKey.id == api_key.id,
            or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < now - LAST_USED_RESOLUTION),
        )
        .values(last_used_at=now)
    )
    set_committed_value(api_key, "last_used_at", now)  # written just now: nothing to flush
