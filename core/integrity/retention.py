"""Keeping the integrity traces no longer than they serve: a walk-in pass only matters on its
day, a network digest only while an analyst may still look at a burst."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import reporting_day, utcnow
from core.models import DatasetRating, ResponseSignal, WalkInPass


async def forget_old_traces(session: AsyncSession, keep_days: int) -> tuple[int, int]:
    """Delete walk-in passes of past days; blank network digests (of responses and of data-set
    ratings) older than `keep_days`.
    Returns (passes deleted, digests blanked)."""
    today = reporting_day(utcnow()).isoformat()
    passes = await session.execute(
        delete(WalkInPass)
        .where(WalkInPass.day < today)
        .execution_options(synchronize_session=False)
    )
    digests = await session.execute(
        update(ResponseSignal)
        .where(
            ResponseSignal.address_digest.is_not(None),
            ResponseSignal.completed_at < utcnow() - timedelta(days=keep_days),
        )
        .values(address_digest=None)
        .execution_options(synchronize_session=False)
    )
    rating_digests = await session.execute(
        update(DatasetRating)
        .where(
            DatasetRating.address_digest.is_not(None),
            DatasetRating.updated_at < utcnow() - timedelta(days=keep_days),
        )
        .values(address_digest=None)
        .execution_options(synchronize_session=False)
    )
    blanked = int(getattr(digests, "rowcount", 0) or 0)
    blanked += int(getattr(rating_digests, "rowcount", 0) or 0)
    return int(getattr(passes, "rowcount", 0) or 0), blanked
