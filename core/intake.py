"""Service events in, invitations out: what the integration API does once a batch is valid.

One call records a whole batch in one transaction, with one INSERT of all events (ON CONFLICT
on the external id, so a repeat or a concurrent double post is one event) and one INSERT of
all invitations. Each new event is decided once, and the decision is stored with it:

- sampling: 1 in N events of a service is invited (N on the service); which ones is fixed by
  a hash of the external id, so a retried event is sampled the same way;
- cooldown: a citizen known by a chat reference gets at most one invitation per
  `cooldown_days`; the others are recorded as served, not invited;
- an invited event gets a single-use token (stored hashed, and sealed so that a repeat of the
  event gets the same link back) expiring after its survey's `invitation_ttl_hours`.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from sqlalchemy import String, any_, bindparam, select, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from core import funnel
from core.clock import reporting_day, utcnow
from core.identity import SecretBox, token_hash
from core.invitations import fresh_token
from core.models import (
    Agency,
    DeliveryChannel,
    Invitation,
    PublicService,
    ServiceEvent,
    ServicePoint,
)

TOKEN_PURPOSE = "invitation-token"  # noqa: S105 (a key-derivation label, not a secret)


class Outcome(enum.StrEnum):
    ISSUED = "issued"
    NOT_SAMPLED = "not_sampled"
    COOLDOWN = "cooldown"
    # A repeat from another key than the one that reported the event: its invitation (and
    # whether there is one) is the reporting key's alone.
    WITHHELD = "withheld"


@dataclass(slots=True)
class IncomingEvent:
    """A valid event with its codes resolved."""

    external_id: str
    agency_id: int
    service_id: int
    service_point_id: int | None
    channel: DeliveryChannel
    delivered_at: datetime
    survey_id: str
    ttl_hours: int
    sample_every: int
    respondent_id: int | None
    api_key_id: int | None = None  # the integration key reporting it


@dataclass(slots=True)
class EventResult:
    external_id: str
    created: bool
    outcome: Outcome
    token: str | None
    expires_at: datetime | None
    respondent_id: int | None


@dataclass(frozen=True)
class _Issued:
    invitation_id: int
    token: str
    expires_at: datetime
    respondent_id: int | None


@dataclass(frozen=True)
class Conflict:
    """An external id already used by a different event (another service or office)."""

    index: int
    external_id: str


class ConflictingEvents(Exception):
    def __init__(self, conflicts: Sequence[Conflict]) -> None:
        super().__init__(f"{len(conflicts)} external id(s) already used by other events")
        self.conflicts = list(conflicts)


class EnqueueInvitation(Protocol):
    """The dispatcher's entry (core.outbox.enqueue_invitation): queue a Telegram invitation in
    the same transaction that created it."""

    def __call__(
        self, session: AsyncSession, *, invitation_id: int, respondent_id: int, token: str
    ) -> Awaitable[None]: ...


@dataclass(frozen=True)
class Catalogue:
    """Agencies, services and offices named in a batch, by code."""

    agencies: dict[str, Agency]
    services: dict[str, PublicService]
    offices: dict[str, ServicePoint]


async def catalogue(
    session: AsyncSession,
    agency_codes: set[str],
    service_codes: set[str],
    office_codes: set[str],
) -> Catalogue:
    agencies = await _by_code(session, Agency, agency_codes)
    services = await _by_code(session, PublicService, service_codes)
    offices = await _by_code(session, ServicePoint, office_codes)
    return Catalogue(agencies, services, offices)


_Coded = TypeVar("_Coded", Agency, PublicService, ServicePoint)


async def _by_code(
    session: AsyncSession, model: type[_Coded], codes: set[str]
) -> dict[str, _Coded]:
    if not codes:
        return {}
    found = await session.scalars(select(model).where(model.code.in_(codes)))
    return {row.code: row for row in found}


def sampled(external_id: str, every: int) -> bool:
    """Whether this event is one of the 1 in `every` invited; the same answer on every retry."""
    if every <= 1:
        return True
    digest = hashlib.sha256(external_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") % every == 0


class Intake:
    """Records batches of events; one instance per app (it holds the token-sealing key)."""

    def __init__(
        self,
        server_secret: bytes,
        cooldown_days: int,
        enqueue_invitation: EnqueueInvitation | None = None,
    ) -> None:
        self.box = SecretBox(server_secret, TOKEN_PURPOSE)
        self.cooldown = timedelta(days=cooldown_days)
        self.enqueue_invitation = enqueue_invitation

    async def record(
        self, session: AsyncSession, events: Sequence[IncomingEvent]
    ) -> list[EventResult]:
        """Record a batch and say, per event, what happened, in the session's transaction: the
        caller commits it (all or nothing). Raises ConflictingEvents when an external id names
        another event; the caller then rolls back, and nothing is written.
        A repeat is told the first answer only when it comes with the key that reported the
        event first; any other key gets `withheld` and no link."""
        now = utcnow()
        existing = await self._existing(session, [event.external_id for event in events])
        conflicts = [
            Conflict(index, event.external_id)
            for index, event in enumerate(events)
            if event.external_id in existing and not _same(existing[event.external_id], event)
        ]
        if conflicts:
            raise ConflictingEvents(conflicts)
        new = [event for event in events if event.external_id not in existing]
        outcomes = await self._decide(session, new, now)
        inserted = await _insert_events(session, new, outcomes, now)
        # Events another request inserted between our look-up and our insert: our INSERT
        # waited for it to commit, so they are visible now; duplicates, or conflicts.
        late = {event.external_id for event in new if event.external_id not in inserted}
        if late:
            existing.update(await self._existing(session, list(late)))
            clashes = [
                Conflict(index, event.external_id)
                for index, event in enumerate(events)
                if event.external_id in late and not _same(existing[event.external_id], event)
            ]
            if clashes:
                raise ConflictingEvents(clashes)
        fresh = [event for event in new if event.external_id in inserted]
        issued = await self._issue(session, fresh, inserted, outcomes, now)
        await funnel.add(session, _funnel_counts(new, inserted, outcomes))
        await self._enqueue_chat_invitations(session, issued)
        results = []
        for event in events:
            if event.external_id in inserted:
                made = issued.get(event.external_id)
                results.append(
                    EventResult(
                        event.external_id,
                        True,
                        outcomes[event.external_id],
                        made.token if made else None,
                        made.expires_at if made else None,
                        made.respondent_id if made else None,
                    )
                )
            else:
                results.append(existing[event.external_id].result(self.box, event.api_key_id))
        return results

    async def _existing(
        self, session: AsyncSession, external_ids: Sequence[str]
    ) -> dict[str, _Stored]:
        if not external_ids:
            return {}
        rows = await session.execute(
            select(
                ServiceEvent.external_id,
                ServiceEvent.service_id,
                ServiceEvent.service_point_id,
                ServiceEvent.invitation_outcome,
                ServiceEvent.api_key_id,
                Invitation.sealed_token,
                Invitation.expires_at,
                Invitation.respondent_id,
            )
            .outerjoin(Invitation, Invitation.service_event_id == ServiceEvent.id)
            .where(_one_of(session, ServiceEvent.external_id, "external_ids")),
            {"external_ids": list(set(external_ids))},
        )
        return {row[0]: _Stored(*row) for row in rows}

    async def _decide(
        self, session: AsyncSession, events: Sequence[IncomingEvent], now: datetime
    ) -> dict[str, Outcome]:
        respondents = {e.respondent_id for e in events if e.respondent_id is not None}
        cooling: set[int] = set()
        if respondents and self.cooldown > timedelta(0):
            cooling = set(
                await session.scalars(
                    select(Invitation.respondent_id)
                    .where(
                        Invitation.respondent_id.in_(respondents),
                        Invitation.created_at > now - self.cooldown,
                    )
                    .distinct()
                )
            )
        outcomes: dict[str, Outcome] = {}
        for event in events:
            if event.external_id in outcomes:
                continue  # the API refuses in-batch duplicates; the first one decides
            if not sampled(event.external_id, event.sample_every):
                outcomes[event.external_id] = Outcome.NOT_SAMPLED
            elif event.respondent_id is not None and event.respondent_id in cooling:
                outcomes[event.external_id] = Outcome.COOLDOWN
            else:
                outcomes[event.external_id] = Outcome.ISSUED
                if event.respondent_id is not None and self.cooldown > timedelta(0):
                    cooling.add(event.respondent_id)  # one per citizen within the batch too
        return outcomes

    async def _issue(
        self,
        session: AsyncSession,
        events: Sequence[IncomingEvent],
        event_ids: dict[str, int],
        outcomes: dict[str, Outcome],
        now: datetime,
    ) -> dict[str, _Issued]:
        """Invitations of the newly inserted, invited events, by external id."""
        rows: list[dict[str, Any]] = []
        pending: dict[int, tuple[str, str, datetime, int | None]] = {}
        for event in events:
            if outcomes[event.external_id] is not Outcome.ISSUED:
                continue
            token = fresh_token()
            expires_at = now + timedelta(hours=event.ttl_hours)
            event_id = event_ids[event.external_id]
            pending[event_id] = (event.external_id, token, expires_at, event.respondent_id)
            rows.append(
                {
                    "service_event_id": event_id,
                    "token_hash": token_hash(token),
                    "survey_id": event.survey_id,
                    "created_at": now,
                    "expires_at": expires_at,
                    "respondent_id": event.respondent_id,
                    "sealed_token": self.box.seal(token),
                }
            )
        if not rows:
            return {}
        issued: dict[str, _Issued] = {}
        for invitation_id, event_id in await _insert_invitations(session, rows):
            external_id, token, expires_at, respondent_id = pending[event_id]
            issued[external_id] = _Issued(invitation_id, token, expires_at, respondent_id)
        return issued

    async def _enqueue_chat_invitations(
        self, session: AsyncSession, issued: dict[str, _Issued]
    ) -> None:
        """THE one place where invitations of citizens with a linked chat go to the delivery
        outbox (core.outbox.enqueue_invitation, given as `enqueue_invitation`), in the same
        transaction that creates them: an invitation is queued exactly when it exists."""
        if self.enqueue_invitation is None:
            return
        for made in issued.values():
            if made.respondent_id is not None:
                await self.enqueue_invitation(
                    session,
                    invitation_id=made.invitation_id,
                    respondent_id=made.respondent_id,
                    token=made.token,
                )


@dataclass(frozen=True)
class _Stored:
    external_id: str
    service_id: int
    service_point_id: int | None
    outcome: str | None
    api_key_id: int | None
    sealed_token: bytes | None
    expires_at: datetime | None
    respondent_id: int | None

    def result(self, box: SecretBox, api_key_id: int | None) -> EventResult:
        if self.api_key_id != api_key_id:
            return EventResult(self.external_id, False, Outcome.WITHHELD, None, None, None)
        token = box.open(self.sealed_token) if self.sealed_token else None
        outcome = (
            Outcome(self.outcome)
            if self.outcome
            else (Outcome.ISSUED if self.expires_at is not None else Outcome.NOT_SAMPLED)
        )
        return EventResult(
            self.external_id, False, outcome, token, self.expires_at, self.respondent_id
        )


def _same(stored: _Stored, event: IncomingEvent) -> bool:
    return (
        stored.service_id == event.service_id and stored.service_point_id == event.service_point_id
    )


def _funnel_counts(
    events: Sequence[IncomingEvent], inserted: dict[str, int], outcomes: dict[str, Outcome]
) -> dict[funnel.FunnelKey, Any]:
    pairs = []
    days: dict[datetime, str] = {}  # a batch has few distinct times; the day is computed once
    for event in events:
        if event.external_id not in inserted:
            continue
        day = days.get(event.delivered_at)
        if day is None:
            day = days[event.delivered_at] = reporting_day(event.delivered_at).isoformat()
        key = funnel.FunnelKey(day, event.service_id, event.service_point_id or 0, event.agency_id)
        pairs.append((key, funnel.FunnelStep.SERVED))
        if outcomes[event.external_id] is Outcome.ISSUED:
            pairs.append((key, funnel.FunnelStep.INVITED))
    return funnel.tally(pairs)


# PostgreSQL: one INSERT of the whole batch from arrays (one round trip, one cached statement).
_PG_INSERT_EVENTS = text(
    "INSERT INTO service_event (external_id, service_id, service_point_id, delivery_channel, "
    "delivered_at, created_at, invitation_outcome, api_key_id) "
    "SELECT e, s, o, c, d, CAST(:now AS TIMESTAMPTZ), x, k FROM unnest("
    "CAST(:external_ids AS VARCHAR[]), CAST(:service_ids AS INTEGER[]), "
    "CAST(:office_ids AS INTEGER[]), CAST(:channels AS VARCHAR[]), "
    "CAST(:delivered AS TIMESTAMPTZ[]), CAST(:outcomes AS VARCHAR[]), "
    "CAST(:api_keys AS INTEGER[])) AS u(e, s, o, c, d, x, k) "
    "ON CONFLICT (external_id) DO NOTHING RETURNING id, external_id"
)
_PG_INSERT_INVITATIONS = text(
    "INSERT INTO invitation (service_event_id, token_hash, survey_id, created_at, expires_at, "
    "respondent_id, sealed_token) "
    "SELECT e, h, s, CAST(:now AS TIMESTAMPTZ), x, r, t FROM unnest("
    "CAST(:event_ids AS INTEGER[]), CAST(:hashes AS BYTEA[]), CAST(:surveys AS VARCHAR[]), "
    "CAST(:expires AS TIMESTAMPTZ[]), CAST(:respondents AS INTEGER[]), "
    "CAST(:sealed AS BYTEA[])) AS u(e, h, s, x, r, t) "
    "RETURNING id, service_event_id"
)


def _is_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _one_of(session: AsyncSession, column: Any, name: str) -> Any:
    """`column` is one of the list bound as `name`: on PostgreSQL `= ANY(array)`, one cached
    statement whatever the length; elsewhere an expanding IN."""
    if _is_postgres(session):
        return column == any_(bindparam(name, type_=ARRAY(String)))
    return column.in_(bindparam(name, expanding=True))


async def _insert_events(
    session: AsyncSession,
    events: Sequence[IncomingEvent],
    outcomes: dict[str, Outcome],
    now: datetime,
) -> dict[str, int]:
    """Insert the events; external id -> id of those this call inserted. In external-id
    order: two batches sharing ids then wait for each other in one order, never in a cycle."""
    if not events:
        return {}
    events = sorted(events, key=lambda event: event.external_id)
    if _is_postgres(session):
        result = await session.execute(
            _PG_INSERT_EVENTS,
            {
                "now": now,
                "external_ids": [e.external_id for e in events],
                "service_ids": [e.service_id for e in events],
                "office_ids": [e.service_point_id for e in events],
                "channels": [e.channel.value for e in events],
                "delivered": [e.delivered_at for e in events],
                "outcomes": [outcomes[e.external_id].value for e in events],
                "api_keys": [e.api_key_id for e in events],
            },
        )
        return {external_id: event_id for event_id, external_id in result}
    statement = (
        sqlite.insert(ServiceEvent)
        .values(
            [
                {
                    "external_id": e.external_id,
                    "service_id": e.service_id,
                    "service_point_id": e.service_point_id,
                    "delivery_channel": e.channel,
                    "delivered_at": e.delivered_at,
                    "created_at": now,
                    "invitation_outcome": outcomes[e.external_id].value,
                    "api_key_id": e.api_key_id,
                }
                for e in events
            ]
        )
        .on_conflict_do_nothing(index_elements=["external_id"])
        .returning(ServiceEvent.id, ServiceEvent.external_id)
    )
    result = await session.execute(statement)
    return {external_id: event_id for event_id, external_id in result}


async def _insert_invitations(
    session: AsyncSession, rows: list[dict[str, Any]]
) -> list[tuple[int, int]]:
    """Insert invitations; (invitation id, service event id) pairs."""
    if _is_postgres(session):
        result = await session.execute(
            _PG_INSERT_INVITATIONS,
            {
                "now": rows[0]["created_at"],
                "event_ids": [row["service_event_id"] for row in rows],
                "hashes": [row["token_hash"] for row in rows],
                "surveys": [row["survey_id"] for row in rows],
                "expires": [row["expires_at"] for row in rows],
                "respondents": [row["respondent_id"] for row in rows],
                "sealed": [row["sealed_token"] for row in rows],
            },
        )
    else:
        result = await session.execute(
            sqlite.insert(Invitation)
            .values(rows)
            .returning(Invitation.id, Invitation.service_event_id)
        )
    return [(invitation_id, event_id) for invitation_id, event_id in result]


__all__ = [
    "Catalogue",
    "Conflict",
    "ConflictingEvents",
    "EnqueueInvitation",
    "EventResult",
    "IncomingEvent",
    "Intake",
    "Outcome",
    "catalogue",
    "sampled",
]
