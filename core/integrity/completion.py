"""What happens to a response the moment it is completed, after the rollups' view of it is
decided: the anti-gaming rules look at it (flagged responses are kept, not counted), then it is
queued for the ledger. All inside the completing transaction; the caller commits. The chain
keeper appends the queue to the ledger in batches (`ledger.seal_queued`): completions no longer
wait on the chain's one lock, which every completion in every worker used to take in turn."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import utcnow
from core.integrity import flags, ledger
from core.integrity.flags import Finding, Rules
from core.models import Response
from core.rollups import add_rollup_rows, merge_rollup_rows, rollup_rows

_rules: Rules | None = None


def use_rules(rules: Rules | None) -> None:
    """The rules completions are judged by (None: the shipped rules.yaml). Set at start-up."""
    global _rules
    _rules = rules


def current_rules() -> Rules:
    return _rules if _rules is not None else flags.load_rules()


async def on_completed(
    session: AsyncSession,
    response: Response,
    agency_id: int,
    metrics: Iterable[tuple[str, str]],
    *,
    rules: Rules | None = None,
) -> list[Finding]:
    """Count the response into its day's rollups, or, when a rule flags it, count only the
    exclusion; then queue it for the ledger.
    Replaces a direct call of `add_completed_response` at completion."""
    pairs = list(metrics)
    # Every rollup change of this completion (its own counts or exclusion, and what flagging
    # a burst takes out of earlier responses) in one statement, rows in key order: concurrent
    # completions then take the rollup rows' locks in the same order and cannot deadlock.
    changes: list[dict[str, Any]] = []
    findings = await flags.assess(
        session, response, pairs, rules or current_rules(), rollup=changes
    )
    if findings:
        await flags.exclude_at_completion(session, response, agency_id, findings, rollup=changes)
    else:
        changes.extend(rollup_rows(response, agency_id, pairs))
    await add_rollup_rows(session, [row for row in merge_rollup_rows(changes) if row["count"]])
    await ledger.queue(session, response.id, response.completed_at or utcnow())
    return findings
