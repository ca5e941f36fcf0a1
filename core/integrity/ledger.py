"""The response ledger: every completed response appended to a hash chain (queued by the
transaction that completes it, counted and chained in batches by the chain keeper);
verification that recomputes the chain from the stored responses; and the auditor's export.
The hashing rules live in `audit.py` (standalone, for the auditor).

What it proves and what it does not: docs/ledger.md.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TextIO

from sqlalchemy import bindparam, delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import REPORTING_TZ, reporting_day, utcnow
from core.integrity.audit import FORMAT, GENESIS, content_hash, entry_hash
from core.integrity.chain_lock import hold_chain_lock
from core.integrity.completion import count_queued
from core.integrity.flags import Rules
from core.models import (
    Answer,
    LedgerEntry,
    LedgerPending,
    LedgerRechain,
    PublicService,
    Response,
    ResponseFlag,
    ResponseStatus,
    ServicePoint,
)

BATCH = 500
# Text, so SQLAlchemy caches the compiled statements of the keeper's batches.
APPEND = text(
    "INSERT INTO ledger_entry (seq, response_id, content_hash, prev_hash, entry_hash, created_at)"
    " VALUES (:seq, :response_id, :content_hash, :prev_hash, :entry_hash, :created_at)"
).bindparams(bindparam("created_at", type_=LedgerEntry.__table__.c.created_at.type))
LAST_ENTRY = text("SELECT seq, entry_hash FROM ledger_entry ORDER BY seq DESC LIMIT 1")
NEXT_QUEUED = (
    select(LedgerPending.response_id, LedgerPending.counts)
    .order_by(LedgerPending.completed_at, LedgerPending.response_id)
    .limit(bindparam("limit"))
)

Content = dict[str, Any]
log = logging.getLogger(__name__)


# The anonymous content of a response ---------------------------------------------


async def contents(session: AsyncSession, response_ids: Sequence[int]) -> dict[int, Content]:
    """The canonical content of each response (missing ids are absent): survey and version,
    service and office codes, channel, language, walk-in, the completion *day* (not the time,
    to make re-identification harder) and the answers by question. One statement."""
    rows = await session.execute(
        select(
            Response.id,
            Response.survey_id,
            Response.survey_version,
            PublicService.code,
            ServicePoint.code,
            Response.channel,
            Response.language,
            Response.walk_in,
            Response.status,
            Response.completed_at,
            Answer.question,
            Answer.value,
        )
        .join(PublicService, PublicService.id == Response.service_id)
        .outerjoin(ServicePoint, ServicePoint.id == Response.service_point_id)
        .outerjoin(Answer, Answer.response_id == Response.id)
        .where(Response.id.in_(list(response_ids)))
    )
    found: dict[int, Content] = {}
    for (
        response_id,
        survey,
        version,
        service,
        office,
        channel,
        language,
        walk_in,
        status,
        completed_at,
        question,
        value,
    ) in rows:
        content = found.get(response_id)
        if content is None:
            content = found[response_id] = {
                "survey": survey,
                "survey_version": version,
                "service": service,
                "office": office,
                "channel": channel.value,
                "language": language,
                "walk_in": bool(walk_in),
                "completed_day": (
                    reporting_day(completed_at).isoformat() if completed_at is not None else None
                ),
                "answers": {},
            }
            if status is not ResponseStatus.COMPLETED:
                content["status"] = status.value  # only a tampered response gets this key
        if question is not None:
            content["answers"][question] = value
    return found


# Queueing and sealing ---------------------------------------------


async def seal_queued(session: AsyncSession, rules: Rules, limit: int = BATCH) -> int:
    """Count up to `limit` queued responses and append them to the chain, oldest completion
    first, and take them off the queue, in the session's transaction (the caller commits;
    until then the chain's lock is held). `rules`: the anti-gaming rules they are judged by.
    Returns how many were chained. Any number of processes may call it: the chain's lock is
    taken before the queue is read, so each response is counted and chained once, by whoever
    holds the lock, and the counting of one batch never races another's, nor a flag's."""
    await hold_chain_lock(session)
    queued = [(row[0], row[1]) for row in await session.execute(NEXT_QUEUED, {"limit": limit})]
    if not queued:
        await session.rollback()  # nothing written: just let go of the lock
        return 0
    ids = [response_id for response_id, _ in queued]
    found = set(await _existing(session, ids))
    # A queued response deleted before it was chained cannot be hashed; `verify` cannot see
    # it either (no entry, no response), so the log says so.
    for missing in (i for i in ids if i not in found):
        log.warning("queued response %s no longer exists; not counted, not chained", missing)
    kept = [(response_id, counts) for response_id, counts in queued if response_id in found]
    await append_many(session, [response_id for response_id, _ in kept])
    await session.execute(delete(LedgerPending).where(LedgerPending.response_id.in_(ids)))
    # Counting last: the funnel's rows are shared with the starts of surveys, which then wait
    # on them only for the commit.
    await count_queued(session, kept, rules)
    return len(found)


async def seal_all(sessions: async_sessionmaker[AsyncSession], rules: Rules) -> int:
    """Count and chain everything queued, a batch per transaction. Returns how many were
    chained. Tests and commands call it to read counts that include every completion."""
    total = 0
    while True:
        async with sessions() as session:
            sealed = await seal_queued(session, rules)
            await session.commit()
        total += sealed
        if sealed < BATCH:
            return total


async def _existing(session: AsyncSession, response_ids: Sequence[int]) -> list[int]:
    return list(await session.scalars(select(Response.id).where(Response.id.in_(response_ids))))


# Appending ---------------------------------------------


async def append(session: AsyncSession, response_id: int) -> dict[str, Any]:
    """Append a just-completed response to the chain, inside the caller's transaction."""
    return (await append_many(session, [response_id]))[0]


async def append_many(session: AsyncSession, response_ids: Sequence[int]) -> list[dict[str, Any]]:
    """Append completed responses to the chain in the given order, inside the caller's
    transaction (the chain keeper's batches; a bulk load appends thousands at once under one
    lock).

    PostgreSQL: a transaction-scoped advisory lock serialises appenders until commit, and the
    head is read after the lock is held (READ COMMITTED: each statement sees the latest
    commits). SQLite: the completing transaction already holds the database's write lock.
    Call it last before commit: the lock is held from here to the commit."""
    if not response_ids:
        return []
    found: dict[int, Content] = {}
    for start in range(0, len(response_ids), BATCH):
        found.update(await contents(session, response_ids[start : start + BATCH]))
    await hold_chain_lock(session)
    last = (await session.execute(LAST_ENTRY)).first()
    seq = last[0] if last is not None else 0
    prev = last[1] if last is not None else GENESIS
    now = utcnow()
    entries = []
    for response_id in response_ids:
        seq += 1
        digest = content_hash(found[response_id])
        entry = {
            "seq": seq,
            "response_id": response_id,
            "content_hash": digest,
            "prev_hash": prev,
            "entry_hash": entry_hash(prev, digest, seq),
            "created_at": now,
        }
        entries.append(entry)
        prev = entry["entry_hash"]
    await session.execute(APPEND, entries)
    return entries


# Verifying against the database ---------------------------------------------


@dataclass(frozen=True)
class Verification:
    entries: int
    head_seq: int | None
    head_hash: str | None
    problem: str | None  # the first entry that no longer matches, and how
    queued: int = 0  # completed responses waiting for the chain keeper

    @property
    def ok(self) -> bool:
        return self.problem is None


async def _entries(
    session: AsyncSession, first: int = 1, last: int | None = None
) -> AsyncIterator[list[LedgerEntry]]:
    after = first - 1
    while True:
        query = select(LedgerEntry).where(LedgerEntry.seq > after)
        if last is not None:
            query = query.where(LedgerEntry.seq <= last)
        batch = list(await session.scalars(query.order_by(LedgerEntry.seq).limit(BATCH)))
        if not batch:
            return
        yield batch
        after = batch[-1].seq


async def verify(
    session: AsyncSession, progress: Callable[[int], None] | None = None
) -> Verification:
    """Recompute the whole chain from the stored responses and answers. Names the first entry
    that no longer matches: a gap (deleted entry), a broken link (inserted or reordered
    entries), a missing response (deleted), changed content (an edited answer or field), a
    changed entry; then any completed response that is not in the chain (inserted); then
    that every recorded re-chain leads back to the head the chain had before it."""
    count, prev, expected = 0, GENESIS, 1
    queued = await session.scalar(select(func.count()).select_from(LedgerPending)) or 0

    def result(problem: str | None) -> Verification:
        return Verification(count, expected - 1 or None, prev if count else None, problem, queued)

    async for batch in _entries(session):
        found = await contents(session, [entry.response_id for entry in batch])
        for entry in batch:
            where = f"entry {entry.seq} (response {entry.response_id})"
            if entry.seq != expected:
                return result(f"entry {expected} is missing: the chain jumps to {entry.seq}")
            if entry.prev_hash != prev:
                return result(
                    f"{where} does not link to entry {expected - 1} (inserted or reordered)"
                )
            content = found.get(entry.response_id)
            if content is None:
                return result(f"{where}: the response no longer exists (deleted)")
            if content_hash(content) != entry.content_hash:
                return result(f"{where}: the response changed after it was recorded (edited)")
            if entry_hash(entry.prev_hash, entry.content_hash, entry.seq) != entry.entry_hash:
                return result(f"{where}: the entry itself was changed")
            prev, expected, count = entry.entry_hash, expected + 1, count + 1
        if progress is not None:
            progress(len(batch))
    waiting = select(LedgerPending.response_id).where(LedgerPending.response_id == Response.id)
    outside = await session.scalar(
        select(Response.id)
        .outerjoin(LedgerEntry, LedgerEntry.response_id == Response.id)
        .where(
            Response.status == ResponseStatus.COMPLETED,
            LedgerEntry.seq.is_(None),
            ~waiting.exists(),
        )
        .order_by(Response.id)
        .limit(1)
    )
    if outside is not None:
        return result(f"response {outside} is completed but not in the chain (inserted)")
    from core.integrity.rechain import rechain_records_hold  # it builds on this module

    return result(await rechain_records_hold(session))


# Exporting for an auditor ---------------------------------------------


@dataclass(frozen=True)
class Period:
    """A calendar period in Kazakhstan's time: a year `2025`, a month `2025-03` or a day."""

    label: str
    first: date
    last: date

    @classmethod
    def parse(cls, label: str) -> Period:
        parts = label.split("-")
        try:
            numbers = [int(part) for part in parts]
            if len(numbers) == 1 and len(parts[0]) == 4:
                return cls(label, date(numbers[0], 1, 1), date(numbers[0], 12, 31))
            if len(numbers) == 2:
                first = date(numbers[0], numbers[1], 1)
                following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
                return cls(label, first, following - timedelta(days=1))
            if len(numbers) == 3:
                day = date(*numbers)
                return cls(label, day, day)
        except ValueError:
            pass
        raise ValueError(f"period {label!r}: expected YYYY, YYYY-MM or YYYY-MM-DD")

    def bounds(self) -> tuple[datetime, datetime]:
        """[start, end) in UTC."""
        start = datetime.combine(self.first, time(), REPORTING_TZ).astimezone(UTC)
        end = datetime.combine(self.last + timedelta(days=1), time(), REPORTING_TZ)
        return start, end.astimezone(UTC)


class ExportRefused(Exception):
    """The chain does not verify: an export would hand the auditor a broken chain."""


async def export(
    session: AsyncSession,
    period: Period,
    out: TextIO,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Write the period's entries (JSON Lines: sequence, hashes, anonymous content, flags) and
    return the head record. The entries are the contiguous run of the chain from the first to
    the last response completed in the period, so the auditor can re-link every one.
    `progress` is told of the entries checked (the whole chain is verified first)."""
    check = await verify(session, progress)
    if not check.ok:
        raise ExportRefused(check.problem)
    start, end = period.bounds()
    span = (
        await session.execute(
            select(func.min(LedgerEntry.seq), func.max(LedgerEntry.seq))
            .join(Response, Response.id == LedgerEntry.response_id)
            .where(Response.completed_at >= start, Response.completed_at < end)
        )
    ).one()
    first, last = span
    count, anchor, head_hash = 0, None, None
    if first is not None:
        async for batch in _entries(session, first, last):
            ids = [entry.response_id for entry in batch]
            found = await contents(session, ids)
            flags = await _flags(session, ids)
            for entry in batch:
                anchor = entry.prev_hash if anchor is None else anchor
                line = {
                    "seq": entry.seq,
                    "response_id": entry.response_id,
                    "prev_hash": entry.prev_hash,
                    "content_hash": entry.content_hash,
                    "entry_hash": entry.entry_hash,
                    "content": found[entry.response_id],
                    # Not hashed: a flag may be added after the fact, and says so.
                    "flags": flags.get(entry.response_id, []),
                }
                out.write(json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n")
                head_hash, count = entry.entry_hash, count + 1
    return {
        "format": FORMAT,
        "period": period.label,
        "period_first_day": period.first.isoformat(),
        "period_last_day": period.last.isoformat(),
        "entries": count,
        "first_seq": first,
        "last_seq": last,
        "anchor_prev_hash": anchor,
        "head_hash": head_hash,
        "chain_head": {"seq": check.head_seq, "entry_hash": check.head_hash},
        "exported_at": utcnow().isoformat(timespec="seconds"),
        # Why hashes differ from an export made before a re-chain (docs/ledger.md).
        "rechains": [
            {
                "at": record.at.isoformat(timespec="seconds"),
                "reason": record.reason,
                "head_seq": record.head_seq,
                "old_head_hash": record.old_head_hash,
                "new_head_hash": record.new_head_hash,
                "changes": [c for c in record.changes if first <= int(c[0]) <= last],
            }
            for record in await session.scalars(select(LedgerRechain).order_by(LedgerRechain.id))
        ],
    }


async def _flags(session: AsyncSession, response_ids: list[int]) -> dict[int, list[str]]:
    rows = await session.execute(
        select(ResponseFlag.response_id, ResponseFlag.reason)
        .where(ResponseFlag.response_id.in_(response_ids))
        .order_by(ResponseFlag.response_id, ResponseFlag.reason)
    )
    flags: dict[int, list[str]] = {}
    for response_id, reason in rows:
        flags.setdefault(response_id, []).append(reason)
    return flags
