"""What a completion leaves for the chain keeper, and how the keeper counts it.

A completion writes its last answer, its status and one row in the ledger's queue carrying
the (metric, value) pairs the response counts (`queue_completed`): no counter is touched, so
completing is one insert more than answering and never waits on a counter row's lock. The
chain keeper counts the queue in completion order (`count_queued`), in the transaction in
which it chains it (`ledger.seal_queued`): the anti-gaming rules look at each response (a
flagged one is kept, not counted), then the batch's rollup and funnel counts go in one
statement each. Counted and chained commit together, so once the queue is empty every
completed response is counted once and chained once; until then (about a second) the counts
are behind, never wrong (docs/ledger.md).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import JSON, Table, bindparam, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from core import funnel
from core.integrity import flags
from core.integrity.flags import Rules
from core.models import LedgerPending, PublicService, Response, ServiceEvent
from core.rollups import add_rollup_rows, merge_rollup_rows, rollup_rows

# Text, so SQLAlchemy caches its compiled form: it runs at every completion.
QUEUE = text(
    "INSERT INTO ledger_pending (response_id, completed_at, counts)"
    " VALUES (:response_id, :completed_at, :counts) ON CONFLICT (response_id) DO NOTHING"
).bindparams(
    bindparam("completed_at", type_=LedgerPending.__table__.c.completed_at.type),
    bindparam("counts", type_=JSON()),
)


async def queue_completed(
    session: AsyncSession,
    response_id: int,
    completed_at: datetime,
    metrics: Iterable[tuple[str, str]],
) -> None:
    """Queue a just-completed response for counting and chaining, inside the completing
    transaction: one insert, no lock. `metrics`: the (metric, value) pairs it counts."""
    await session.execute(
        QUEUE,
        {
            "response_id": response_id,
            "completed_at": completed_at,
            "counts": [list(pair) for pair in metrics],
        },
    )


_RESPONSE = cast(Table, Response.__table__)
_SERVICE = cast(Table, PublicService.__table__)
_EVENT = cast(Table, ServiceEvent.__table__)
# What counting reads of the queued responses, in one query per batch.
COUNTING = (
    select(
        _RESPONSE.c.id,
        _RESPONSE.c.channel,
        _RESPONSE.c.service_id,
        _RESPONSE.c.service_point_id,
        _RESPONSE.c.respondent_id,
        _RESPONSE.c.started_at,
        _RESPONSE.c.completed_at,
        _SERVICE.c.agency_id,
        _EVENT.c.delivered_at,
    )
    .join(_SERVICE, _SERVICE.c.id == _RESPONSE.c.service_id)
    .outerjoin(_EVENT, _EVENT.c.id == _RESPONSE.c.service_event_id)
    .where(_RESPONSE.c.id.in_(bindparam("ids", expanding=True)))
)


async def count_queued(
    session: AsyncSession, queued: Sequence[tuple[int, Any]], rules: Rules
) -> None:
    """Count queued responses, given as (response id, counts) in completion order, inside the
    chain keeper's transaction (the caller commits). Each is assessed by the anti-gaming rules
    as of its own completion, so later completions already stored do not count against it;
    a flagged one counts only its exclusion. Then every rollup change of the batch goes in one
    statement, rows in key order, and the funnel's completions in another. Counts None: queued
    before the keeper counted (counted at completion); a response no longer stored: skipped
    (the ledger reports it)."""
    waiting = [(response_id, counts) for response_id, counts in queued if counts is not None]
    if not waiting:
        return
    found = {
        row[0]: row for row in await session.execute(COUNTING, {"ids": [i for i, _ in waiting]})
    }
    changes: list[dict[str, Any]] = []
    completed: Counter[funnel.FunnelKey] = Counter()
    for response_id, counts in waiting:
        row = found.get(response_id)
        if row is None:
            continue
        _, channel, service_id, office_id, respondent_id, started, done, agency_id, delivered = row
        response = Response(
            id=response_id,
            channel=channel,
            service_id=service_id,
            service_point_id=office_id,
            respondent_id=respondent_id,
            started_at=started,
            completed_at=done,
        )
        pairs = [(str(metric), str(value)) for metric, value in counts]
        findings = await flags.assess(session, response, pairs, rules, rollup=changes)
        if findings:
            await flags.exclude_at_completion(
                session, response, agency_id, findings, rollup=changes
            )
        else:
            changes.extend(rollup_rows(response, agency_id, pairs))
        if delivered is not None:  # invited: a walk-in was never in the funnel
            completed[funnel.FunnelKey.of(delivered, agency_id, service_id, office_id)] += 1
    await add_rollup_rows(session, [row for row in merge_rollup_rows(changes) if row["count"]])
    await funnel.add(
        session, {key: {funnel.FunnelStep.COMPLETED: n} for key, n in completed.items()}
    )
