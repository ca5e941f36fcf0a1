"""The chain keeper: counts the ledger's queue of completed responses into the rollups and the
funnel and appends it to the hash chain, a batch at a time, every second or so. Every server
process runs one; they take turns under the chain's lock, so each queued response is counted
and chained once."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.integrity.flags import Rules
from core.integrity.ledger import seal_all

log = logging.getLogger(__name__)

INTERVAL_S = 1.0  # how long a completed response may wait uncounted (docs/ledger.md)
MAX_PAUSE_S = 30.0  # after repeated failures (the database away), retry at most this slowly


async def keep_chain(
    sessions: async_sessionmaker[AsyncSession],
    rules: Rules,
    interval_s: float = INTERVAL_S,
) -> None:
    """Count and chain the queue every `interval_s` until cancelled, judging completions by
    `rules`. A failure (the database away) is logged and retried, more
    slowly each time; the queue keeps what waits meanwhile."""
    pause = interval_s
    while True:
        try:
            await seal_all(sessions, rules)
            pause = interval_s
        except Exception:
            log.exception(
                "the chain keeper could not count and chain the queue; retrying in %.0f s", pause
            )
            pause = min(pause * 2, MAX_PAUSE_S)
        await asyncio.sleep(pause)
