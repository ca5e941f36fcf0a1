"""The chain's lock: one PostgreSQL advisory lock, held to the end of a transaction, that
serialises what writes the chain or depends on whether a response was counted yet: the chain
keepers' batches (they count and chain), a re-chain, and a flag (which takes out what its
response added, if the keeper counted it). On SQLite the transaction's write lock does it."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# Any constant will do; it only has to be the same in every process appending to the chain.
CHAIN_LOCK_KEY = 0x51414E4147  # "QANAG"
LOCK_CHAIN = text("SELECT pg_advisory_xact_lock(:key)")


async def hold_chain_lock(session: AsyncSession) -> None:
    """Take the chain's lock in the session's transaction, until it ends (PostgreSQL; nothing
    elsewhere). Taking it again in the same transaction does not wait."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(LOCK_CHAIN, {"key": CHAIN_LOCK_KEY})
