"""Re-chaining the ledger after a deliberate change of stored responses, and recording it so
that an auditor sees why hashes changed (docs/ledger.md, "Re-chaining").

The one such change so far: free-text answers are stored scrubbed of personal data
(core/answer_text.py), and the answers stored raw before are scrubbed in place
(`scrub_stored_answers`). A re-chain recomputes every entry's content hash from the stored
responses, links the chain again from the first changed entry on, and keeps a `LedgerRechain`
with the old content hash of each changed entry and the old head: from it, the old chain can
be recomputed (`old_chain_holds`) and compared with an export made before; an auditor holding
that export can scrub its answers the same way and find the new content hashes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.answer_text import kept_answer
from core.clock import utcnow
from core.integrity.audit import GENESIS, content_hash, entry_hash
from core.integrity.chain_lock import hold_chain_lock
from core.integrity.ledger import BATCH, contents
from core.models import Answer, LedgerEntry, LedgerRechain

SCRUB_REASON = (
    "free-text answers scrubbed of personal data (IIN/BIN, phones, e-mails, cards, IBANs, "
    "names) as now done before storing; the new content hash of each changed entry is that "
    "of its old content with each text answer scrubbed"
)


async def scrub_stored_answers(session: AsyncSession) -> int:
    """Scrub text answers stored before scrubbing was done on the way in (not committed).
    Returns how many changed. Idempotent: scrubbed text scrubs to itself."""
    changed = 0
    after = 0
    while True:
        rows = (
            await session.execute(
                select(Answer.id, Answer.value)
                .where(Answer.id > after)
                .order_by(Answer.id)
                .limit(BATCH)
            )
        ).all()
        if not rows:
            return changed
        for answer_id, value in rows:
            kept = kept_answer(value)
            if kept != value:
                await session.execute(
                    update(Answer).where(Answer.id == answer_id).values(value=kept)
                )
                changed += 1
        after = rows[-1][0]


async def rechain(session: AsyncSession, reason: str) -> LedgerRechain | None:
    """Recompute the chain from the stored responses (inside the caller's transaction, under
    the chain's lock) and record it; None when no content hash changed. Only content hashes
    are taken from the responses: a gap or a broken link stays for `verify` to report."""
    await hold_chain_lock(session)
    entries = list(await session.scalars(select(LedgerEntry).order_by(LedgerEntry.seq)))
    if not entries:
        return None
    old_head = entries[-1].entry_hash
    changes: list[list[Any]] = []
    prev = GENESIS
    relink = False
    for start in range(0, len(entries), BATCH):
        batch = entries[start : start + BATCH]
        found = await contents(session, [entry.response_id for entry in batch])
        for entry in batch:
            content = found.get(entry.response_id)
            digest = content_hash(content) if content is not None else entry.content_hash
            if digest != entry.content_hash:
                changes.append([entry.seq, entry.content_hash, digest])
                relink = True
            if relink:
                entry.content_hash = digest
                entry.prev_hash = prev
                entry.entry_hash = entry_hash(prev, digest, entry.seq)
            prev = entry.entry_hash
    if not changes:
        return None
    record = LedgerRechain(
        at=utcnow(),
        reason=reason[:300],
        head_seq=entries[-1].seq,
        old_head_hash=old_head,
        new_head_hash=entries[-1].entry_hash,
        changes=changes,
    )
    session.add(record)
    await session.flush()
    return record


def old_chain_holds(record: LedgerRechain, entries: Sequence[tuple[int, str]]) -> bool:
    """Whether the chain before the re-chain, recomputed from `entries` ((seq, content hash)
    as stored now, from 1 to the record's head) with the record's old content hashes put back,
    ends in the record's old head."""
    old = {int(seq): str(before) for seq, before, _after in record.changes}
    prev = GENESIS
    for seq, digest in entries:
        if seq > record.head_seq:
            break
        prev = entry_hash(prev, old.get(seq, digest), seq)
    return prev == record.old_head_hash


async def rechain_records_hold(session: AsyncSession) -> str | None:
    """None when every recorded re-chain is consistent with the chain as stored; else why not."""
    records = list(await session.scalars(select(LedgerRechain).order_by(LedgerRechain.id)))
    if not records:
        return None
    entries = [
        (seq, digest)
        for seq, digest in await session.execute(
            select(LedgerEntry.seq, LedgerEntry.content_hash).order_by(LedgerEntry.seq)
        )
    ]
    # Newest first: each record's old hashes are put back before checking the one before it.
    digests = dict(entries)
    for record in reversed(records):
        if not old_chain_holds(record, sorted(digests.items())):
            return (
                f"the re-chain of {record.at:%Y-%m-%d} does not lead back to its old head "
                f"{record.old_head_hash}"
            )
        for seq, before, _after in record.changes:
            digests[int(seq)] = str(before)
    return None


async def scrub_and_rechain(sessions: async_sessionmaker[AsyncSession]) -> tuple[int, int]:
    """Scrub answers stored raw and re-chain the ledger with a record, in one transaction.
    Returns (answers scrubbed, entries whose hash changed). Run after the schema migration;
    a second run finds nothing to do."""
    async with sessions() as session:
        scrubbed = await scrub_stored_answers(session)
        record = await rechain(session, SCRUB_REASON) if scrubbed else None
        await session.commit()
        return scrubbed, len(record.changes) if record is not None else 0
