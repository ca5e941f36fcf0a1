"""Anti-gaming: completed responses that look manufactured are kept, flagged with the reason,
and left out of the rollups (so out of every score), with the exclusions counted per reason
(rollup metric `flagged`, value `any` and one per reason) so analysts see how many.

Rules (thresholds, not score weights) come from `rules.yaml` or QANAGAT_ANTI_GAMING_RULES:
  fast_completion    completed sooner than `min_seconds` after it was opened
  respondent_burst   more than `max_responses` completed by one respondent within the window
  network_burst      web: more than `max_responses` from one network address within the window
  office_top_burst   more than `max_top_scores` top scores at one office within the window
The chain keeper applies them to each completed response in completion order, as of its own
completion (`core/integrity/completion.py`). A burst flags the whole run in the window: the
earlier responses were counted already, so their rollup contribution is taken out again
(`flag`).
"""

from __future__ import annotations

import hashlib
import hmac
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any, cast

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import Table, bindparam, exists, func, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import utcnow
from core.integrity.chain_lock import hold_chain_lock
from core.models import (
    Base,
    LedgerPending,
    PublicService,
    Response,
    ResponseFlag,
    ResponseSignal,
    ResponseStatus,
    ServicePoint,
)
from core.rollups import RESPONSES_METRIC, add_rollup_rows, counter_rows

RULES_FILE = Path(__file__).with_name("rules.yaml")
FLAGGED_METRIC = "flagged"
ANY_REASON = "any"  # value of the `flagged` metric counting excluded responses, once each

FAST = "fast_completion"
RESPONDENT_BURST = "respondent_burst"
NETWORK_BURST = "network_burst"
OFFICE_TOP_BURST = "office_top_burst"
ANALYST = "analyst"


# Once per completion. Written as text so SQLAlchemy caches its compiled form (a dialect's
# on-conflict insert is compiled anew on every call); the same SQL runs on SQLite and PostgreSQL.
RECORD_SIGNAL = text(
    "INSERT INTO response_signal "
    "(response_id, service_point_key, top_score, completed_at, counted) "
    "VALUES (:response_id, :service_point_key, :top_score, :completed_at, :counted) "
    "ON CONFLICT (response_id) DO UPDATE SET service_point_key = excluded.service_point_key, "
    "top_score = excluded.top_score, completed_at = excluded.completed_at, "
    "counted = excluded.counted"
).bindparams(
    bindparam("top_score", type_=ResponseSignal.__table__.c.top_score.type),
    bindparam("completed_at", type_=ResponseSignal.__table__.c.completed_at.type),
    bindparam("counted", type_=ResponseSignal.__table__.c.counted.type),
)

# The flags of a response flagged at completion, all in one round trip (an executemany).
RECORD_FLAG = text(
    "INSERT INTO response_flag (response_id, reason, detail, created_at) "
    "VALUES (:response_id, :reason, :detail, :created_at) "
    "ON CONFLICT (response_id, reason) DO NOTHING"
).bindparams(bindparam("created_at", type_=ResponseFlag.__table__.c.created_at.type))


# On the tables, not the mapped classes: the ORM's compile machinery costs more than these
# queries. Nothing they read is loaded in a session.
_RESPONSE = cast(Table, Response.__table__)
_SIGNAL = cast(Table, ResponseSignal.__table__)
_FLAG = cast(Table, ResponseFlag.__table__)
_SERVICE = cast(Table, PublicService.__table__)

# What the rules count for a just-completed response, in one query; built once, its values
# bound per call (a completion builds no statement). Parameters: response_id, respondent_id,
# office_key and each window's start.
_OWN_DIGEST = (
    select(_SIGNAL.c.address_digest)
    .where(_SIGNAL.c.response_id == bindparam("response_id"))
    .scalar_subquery()
)
# Each window ends at the response's own completion: the chain keeper counts a response after
# later ones may have completed, and those must not count against it.
_BY_RESPONDENT = (
    _RESPONSE.c.respondent_id == bindparam("respondent_id"),
    _RESPONSE.c.status == ResponseStatus.COMPLETED,
    _RESPONSE.c.completed_at >= bindparam("respondent_since"),
    _RESPONSE.c.completed_at <= bindparam("until"),
)
_BY_NETWORK = (
    _SIGNAL.c.address_digest == _OWN_DIGEST,
    _SIGNAL.c.completed_at >= bindparam("network_since"),
    _SIGNAL.c.completed_at <= bindparam("until"),
)
_TOP_AT_OFFICE = (
    _SIGNAL.c.service_point_key == bindparam("office_key"),
    _SIGNAL.c.top_score.is_(True),
    _SIGNAL.c.completed_at >= bindparam("top_since"),
    _SIGNAL.c.completed_at <= bindparam("until"),
)
COUNTS = select(
    select(func.count()).select_from(_RESPONSE).where(*_BY_RESPONDENT).scalar_subquery(),
    select(func.count()).select_from(_SIGNAL).where(*_BY_NETWORK).scalar_subquery(),
    select(func.count()).select_from(_SIGNAL).where(*_TOP_AT_OFFICE).scalar_subquery(),
    exists().where(_FLAG.c.response_id == bindparam("response_id")),
)


def _earlier_in_burst(member: Any, reason: str, conditions: Sequence[Any]) -> Any:
    # In id order: the keeper and an analyst flagging the same run at once then lock its rows
    # in the same order.
    return (
        select(member)
        .where(*conditions, member != bindparam("response_id"))
        .where(~exists().where(_FLAG.c.response_id == member, _FLAG.c.reason == reason))
        .order_by(member)
    )


EARLIER_IN_BURST = {
    RESPONDENT_BURST: _earlier_in_burst(_RESPONSE.c.id, RESPONDENT_BURST, _BY_RESPONDENT),
    NETWORK_BURST: _earlier_in_burst(_SIGNAL.c.response_id, NETWORK_BURST, _BY_NETWORK),
    OFFICE_TOP_BURST: _earlier_in_burst(_SIGNAL.c.response_id, OFFICE_TOP_BURST, _TOP_AT_OFFICE),
}


# What flagging a response needs to know of it: whether and how it was counted. Completed
# and still waiting for the chain keeper to count it: not counted yet (no signal of what it
# counted), and the keeper will see the flag.
_PENDING = cast(Table, LedgerPending.__table__)
FLAGGING = (
    select(
        _RESPONSE.c.status,
        _RESPONSE.c.completed_at,
        _RESPONSE.c.channel,
        _RESPONSE.c.service_id,
        _RESPONSE.c.service_point_id,
        _SERVICE.c.agency_id,
        _SIGNAL.c.counted,
        exists().where(_FLAG.c.response_id == _RESPONSE.c.id),
        _SIGNAL.c.counted.is_(None)
        & exists().where(_PENDING.c.response_id == _RESPONSE.c.id, _PENDING.c.counts.is_not(None)),
    )
    .join(_SERVICE, _SERVICE.c.id == _RESPONSE.c.service_id)
    .outerjoin(_SIGNAL, _SIGNAL.c.response_id == _RESPONSE.c.id)
    .where(_RESPONSE.c.id == bindparam("flagged_id"))
)


# Rules ---------------------------------------------


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FastCompletion(_Rule):
    min_seconds: float = Field(ge=0)


class Burst(_Rule):
    window_minutes: float = Field(gt=0)
    max_responses: int = Field(ge=1)

    @property
    def window(self) -> timedelta:
        return timedelta(minutes=self.window_minutes)


class TopScoreBurst(_Rule):
    window_minutes: float = Field(gt=0)
    max_top_scores: int = Field(ge=1)
    metric: str
    top_value: str

    @property
    def window(self) -> timedelta:
        return timedelta(minutes=self.window_minutes)


class Rules(_Rule):
    fast_completion: FastCompletion
    respondent_burst: Burst
    network_burst: Burst
    office_top_burst: TopScoreBurst


class RulesError(ValueError):
    pass


@cache
def load_rules(path: Path = RULES_FILE) -> Rules:
    """The rules in a YAML file; a bad file names itself and what is wrong."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return Rules.model_validate(data)
    except OSError as error:
        raise RulesError(f"{path}: cannot read the anti-gaming rules ({error})") from None
    except yaml.YAMLError as error:
        raise RulesError(f"{path}: not valid YAML ({error})") from None
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in item['loc'])}: {item['msg']}"
            for item in error.errors()
        )
        raise RulesError(f"{path}: {problems}") from None


# Network addresses (web channel) ---------------------------------------------


def network_digest(secret: bytes, address: str) -> bytes:
    """A keyed hash of a network address: comparable, not reversible without the secret."""
    key = hmac.new(secret, b"qanagat/network-address", hashlib.sha256).digest()
    return hmac.new(key, address.encode("utf-8", "replace"), hashlib.sha256).digest()


async def note_network_address(session: AsyncSession, response_id: int, digest: bytes) -> None:
    """Where a web response was opened from (its digest); counted when it completes."""
    statement = _insert(session, ResponseSignal).values(
        response_id=response_id, address_digest=digest, service_point_key=0, top_score=False
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["response_id"], set_={"address_digest": digest}
        )
    )


# At completion ---------------------------------------------


@dataclass(frozen=True)
class Finding:
    reason: str
    detail: str


async def assess(
    session: AsyncSession,
    response: Response,
    metrics: Sequence[tuple[str, str]],
    rules: Rules,
    *,
    rollup: list[dict[str, Any]] | None = None,
) -> list[Finding]:
    """Record what the rules count for this completed response and say which rules it breaks
    as of its completion (every window ends then; flags already on it, from an analyst,
    included). When it completes a burst, the earlier responses of the burst are flagged here
    too. Two statements when nothing is found: the signal row and one query with every count.
    With `rollup`, what flagging takes out of the rollups is added to that list instead of
    written (see `flag`)."""
    now = response.completed_at or utcnow()
    office_key = response.service_point_id or 0
    top_rule = rules.office_top_burst
    top = (top_rule.metric, top_rule.top_value) in metrics
    await session.execute(
        RECORD_SIGNAL,
        {
            "response_id": response.id,
            "service_point_key": office_key,
            "top_score": top,
            "completed_at": now,
            "counted": [list(pair) for pair in metrics],
        },
    )
    params = {
        "response_id": response.id,
        "respondent_id": response.respondent_id,  # None: matches no response (counts 0)
        "office_key": office_key,
        "until": now,
        "respondent_since": now - rules.respondent_burst.window,
        "network_since": now - rules.network_burst.window,
        "top_since": now - top_rule.window,
    }
    by_respondent, by_network, top_at_office, flagged_before = (
        await session.execute(COUNTS, params)
    ).one()
    findings: list[Finding] = []
    seconds = (now - response.started_at).total_seconds()
    if seconds < rules.fast_completion.min_seconds:
        findings.append(Finding(FAST, f"completed {seconds:.0f} s after it was opened"))
    if response.respondent_id is not None and by_respondent > rules.respondent_burst.max_responses:
        detail = (
            f"{by_respondent} completed by one respondent within "
            f"{rules.respondent_burst.window_minutes:g} min"
        )
        findings.append(await _burst(session, rollup, RESPONDENT_BURST, detail, params))
    if by_network > rules.network_burst.max_responses:
        detail = (
            f"{by_network} completed from one network address within "
            f"{rules.network_burst.window_minutes:g} min"
        )
        findings.append(await _burst(session, rollup, NETWORK_BURST, detail, params))
    if top and office_key and top_at_office > top_rule.max_top_scores:
        detail = f"{top_at_office} top scores at one office within {top_rule.window_minutes:g} min"
        findings.append(await _burst(session, rollup, OFFICE_TOP_BURST, detail, params))
    if flagged_before:
        found = {finding.reason for finding in findings}
        rows = await session.execute(
            select(ResponseFlag.reason, ResponseFlag.detail).where(
                ResponseFlag.response_id == response.id
            )
        )
        findings.extend(Finding(reason, detail) for reason, detail in rows if reason not in found)
    return findings


async def _burst(
    session: AsyncSession,
    rollup: list[dict[str, Any]] | None,
    reason: str,
    detail: str,
    params: dict[str, Any],
) -> Finding:
    """Flag the earlier responses of a burst (those not flagged for it yet)."""
    earlier = await session.scalars(EARLIER_IN_BURST[reason], params)
    for response_id in list(earlier):
        await flag(session, response_id, reason, detail, rollup=rollup)
    return Finding(reason, detail)


async def exclude_at_completion(
    session: AsyncSession,
    response: Response,
    agency_id: int,
    findings: Iterable[Finding],
    *,
    rollup: list[dict[str, Any]] | None = None,
) -> None:
    """The response is not counted: record its flags and count the exclusion instead (added
    to `rollup` when given, as in `flag`)."""
    findings = list(findings)
    now = utcnow()
    if findings:
        await session.execute(
            RECORD_FLAG,
            [
                {
                    "response_id": response.id,
                    "reason": finding.reason,
                    "detail": finding.detail[:300],
                    "created_at": now,
                }
                for finding in findings
            ],
        )
    counts: Counter[tuple[str, str]] = Counter({(FLAGGED_METRIC, ANY_REASON): 1})
    counts.update((FLAGGED_METRIC, finding.reason) for finding in findings)
    await _add_to_rollup(
        session,
        response.completed_at or utcnow(),
        agency_id,
        response.service_id,
        response.service_point_id or 0,
        counts,
        rollup,
    )


# Later: a burst seen afterwards, or an analyst ---------------------------------------------


async def flag(
    session: AsyncSession,
    response_id: int,
    reason: str,
    detail: str = "",
    *,
    rollup: list[dict[str, Any]] | None = None,
) -> bool:
    """Flag a response (kept, not counted). A completed response that was counted has its
    rollup contribution taken out. False when it had this flag already or does not exist.
    Inside the caller's transaction; the caller commits. With `rollup`, the rows to take out
    are added to that list for the caller to write with its own, in one statement in key
    order (the chain keeper's batch: a flag written alone while other writers hold rollup
    rows would lock them out of order). A response completed but still waiting for the keeper
    was not counted: only the flag is written, and the keeper counts its exclusion."""
    # Whether the keeper counted it must not change between this read and the commit: a
    # keeper's batch and this flag take turns.
    await hold_chain_lock(session)
    row = (await session.execute(FLAGGING, {"flagged_id": response_id})).first()
    if row is None:
        return False
    status, completed_at, channel, service_id, office_id, agency_id, counted, excluded, waiting = (
        row
    )
    inserted = await session.execute(
        RECORD_FLAG,
        {
            "response_id": response_id,
            "reason": reason,
            "detail": detail[:300],
            "created_at": utcnow(),
        },
    )
    if getattr(inserted, "rowcount", 1) == 0:
        return False
    if status is not ResponseStatus.COMPLETED or completed_at is None or waiting:
        return True  # not counted yet; its counting will see the flag
    counts: Counter[tuple[str, str]] = Counter({(FLAGGED_METRIC, reason): 1})
    if not excluded:
        counts[(FLAGGED_METRIC, ANY_REASON)] += 1
        counts[(RESPONSES_METRIC, channel.value)] -= 1
        for metric, value in counted or []:
            counts[(metric, value)] -= 1
    await _add_to_rollup(
        session, completed_at, agency_id, service_id, office_id or 0, counts, rollup
    )
    return True


async def _add_to_rollup(
    session: AsyncSession,
    completed_at: datetime,
    agency_id: int,
    service_id: int,
    office_key: int,
    counts: Counter[tuple[str, str]],
    rollup: list[dict[str, Any]] | None = None,
) -> None:
    # Through core.rollups, the counters' one writer: daily and monthly move together; counts
    # may be negative (taking one out). Into `rollup` instead when the caller writes the rows
    # itself (the completion, in one statement with its own).
    rows = counter_rows(completed_at, agency_id, service_id, office_key, counts)
    if rollup is not None:
        rollup.extend(rows)
        return
    await add_rollup_rows(session, rows)  # notes an older day's change for the admin's sums


def _insert(session: AsyncSession, model: type[Base]) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)


# For analysts (the admin's responses explorer) ---------------------------------------------


@dataclass(frozen=True)
class FlaggedResponse:
    response_id: int
    completed_at: datetime | None
    service: str
    office: str | None
    channel: str
    walk_in: bool
    reasons: list[Finding]


async def flagged_responses(
    session: AsyncSession,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    reason: str | None = None,
    office_code: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[FlaggedResponse]:
    """Flagged responses, newest first, each with all its reasons and their details."""
    query = (
        select(
            Response.id,
            Response.completed_at,
            PublicService.code,
            ServicePoint.code,
            Response.channel,
            Response.walk_in,
        )
        .join(PublicService, PublicService.id == Response.service_id)
        .outerjoin(ServicePoint, ServicePoint.id == Response.service_point_id)
        .where(exists().where(ResponseFlag.response_id == Response.id))
    )
    if reason is not None:
        query = query.where(
            exists().where(ResponseFlag.response_id == Response.id, ResponseFlag.reason == reason)
        )
    if since is not None:
        query = query.where(Response.completed_at >= since)
    if until is not None:
        query = query.where(Response.completed_at < until)
    if office_code is not None:
        query = query.where(ServicePoint.code == office_code)
    rows = list(
        await session.execute(
            query.order_by(Response.completed_at.desc(), Response.id.desc())
            .limit(limit)
            .offset(offset)
        )
    )
    reasons: dict[int, list[Finding]] = {}
    if rows:
        flag_rows = await session.execute(
            select(ResponseFlag.response_id, ResponseFlag.reason, ResponseFlag.detail)
            .where(ResponseFlag.response_id.in_([row[0] for row in rows]))
            .order_by(ResponseFlag.id)
        )
        for response_id, flag_reason, detail in flag_rows:
            reasons.setdefault(response_id, []).append(Finding(flag_reason, detail))
    return [
        FlaggedResponse(
            response_id=response_id,
            completed_at=completed_at,
            service=service,
            office=office,
            channel=channel.value,
            walk_in=bool(walk_in),
            reasons=reasons.get(response_id, []),
        )
        for response_id, completed_at, service, office, channel, walk_in in rows
    ]
