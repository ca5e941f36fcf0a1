"""Respondents and responses: the storage side of a survey conversation.

`ResponseStore` is the repository of respondents and responses over one unit of work's
session (`core/unit_of_work.py`). It never commits: the service that handles an update or a
request commits once, at its durable point (an answer; the last answer together with the
completion), so a crash or a lost Redis never loses an answer given, nor keeps a finished
survey uncounted. What differs between databases goes through its `AnswerWriter`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar, cast

from sqlalchemy import (
    Table,
    bindparam,
    delete,
    exists,
    func,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key
from sqlalchemy.sql import Executable

from core import funnel
from core.answer_text import kept_answer
from core.answer_writers import (
    COMPLETE,
    STOP_OTHER_OPEN_RESPONSES,
    AnswerWrite,
    AnswerWriter,
    Completion,
    Opening,
    Recorded,
    SessionHolder,
)
from core.clock import utcnow
from core.identity import AddressBox, token_hash
from core.integrity import queue_completed
from core.invitations import InvitationProblem
from core.models import (
    Agency,
    Answer,
    Channel,
    ChatAddress,
    ComplaintRequest,
    Invitation,
    PublicService,
    Respondent,
    Response,
    ResponseStatus,
    ServiceEvent,
    ServicePoint,
)

AnswerValue = Any
T = TypeVar("T")

_OWNER_ID = select(Respondent.id).where(Respondent.key == bindparam("owner")).scalar_subquery()
_OWNER_LANGUAGE = (
    select(Respondent.language).where(Respondent.key == bindparam("owner")).scalar_subquery()
)
# Storing an answer checks this first: the response's status, whether it is the owner's, its
# count of answers, and the owner's language.
RESPONSE_STATE = select(
    Response.status,
    Response.respondent_id == _OWNER_ID,
    select(func.count())
    .select_from(Answer)
    .where(Answer.response_id == Response.id)
    .scalar_subquery(),
    _OWNER_LANGUAGE,
).where(Response.id == bindparam("response_id"))

# What answering needs to know about one response, in one round trip: its survey, service,
# office, state and owner, the owner's language, and the answers so far (one row each).
LIVE_RESPONSE = (
    select(
        Response.status,
        Response.survey_id,
        Response.respondent_id == _OWNER_ID,
        _OWNER_LANGUAGE,
        PublicService.id,
        PublicService.name_kk,
        PublicService.name_ru,
        PublicService.name_en,
        Response.service_point_id,
        Answer.question,
        Answer.value,
    )
    .join(PublicService, PublicService.id == Response.service_id)
    .outerjoin(Answer, Answer.response_id == Response.id)
    .where(Response.id == bindparam("response_id"))
)

# The hot statements below are on the tables, not the mapped classes: the ORM's compile and
# bulk-update machinery cost more than the statements themselves, and nothing loaded in a
# session needs them synchronised (a start and a completion load no response first).
_RESPONSE = cast(Table, Response.__table__)
_SERVICE = cast(Table, PublicService.__table__)
_EVENT = cast(Table, ServiceEvent.__table__)
_RESPONDENT = cast(Table, Respondent.__table__)
_ADDRESS = cast(Table, ChatAddress.__table__)
_ANSWER = cast(Table, Answer.__table__)
# A respondent with its write-back address (at most one: unique per respondent), so that a
# start, which keeps the address, needs no read of its own for it.
RESPONDENT = (
    select(
        _RESPONDENT.c.id,
        _RESPONDENT.c.language,
        _RESPONDENT.c.created_at,
        _ADDRESS.c.encrypted_address,
    )
    .select_from(_RESPONDENT.outerjoin(_ADDRESS, _ADDRESS.c.respondent_id == _RESPONDENT.c.id))
    .where(_RESPONDENT.c.key == bindparam("key"))
)
ADDRESS = select(_ADDRESS.c.encrypted_address).where(
    _ADDRESS.c.respondent_id == bindparam("respondent_id")
)
ANSWERS = select(_ANSWER.c.question, _ANSWER.c.value).where(
    _ANSWER.c.response_id == bindparam("response_id")
)
_UNFINISHED = (ResponseStatus.IN_PROGRESS, ResponseStatus.STOPPED)
NO_INVITATION = 0  # no invitation has this id: a walk-in keeps none of its open responses
_INVITATION = cast(Table, Invitation.__table__)
# What opening an invitation's response needs, in one round trip: the invitation, its event,
# its service (every column: the service becomes an object as if loaded) and the person's
# open survey, if any (which the start stops, or completes if every answer is in).
INVITATION_OPENING = (
    select(
        _INVITATION.c.id,
        _INVITATION.c.survey_id,
        _INVITATION.c.expires_at,
        _INVITATION.c.used_at,
        _EVENT.c.id,
        _EVENT.c.delivered_at,
        _EVENT.c.service_point_id,
        select(func.max(_RESPONSE.c.id))
        .where(
            _RESPONSE.c.respondent_id == bindparam("respondent_id"),
            _RESPONSE.c.status == ResponseStatus.IN_PROGRESS,
        )
        .scalar_subquery(),
        *_SERVICE.c,
    )
    .join(_EVENT, _EVENT.c.id == _INVITATION.c.service_event_id)
    .join(_SERVICE, _SERVICE.c.id == _EVENT.c.service_id)
    .where(_INVITATION.c.token_hash == bindparam("token_hash"))
)


class Completing(Protocol):
    """What completing a response needs (the engine decides it): its metrics and whether a
    complaint was asked for."""

    @property
    def metrics(self) -> list[tuple[str, str]]: ...

    @property
    def complaint_requested(self) -> bool: ...


@dataclass(frozen=True)
class ServiceNames:
    id: int
    name_kk: str
    name_ru: str
    name_en: str

    def name(self, lang: str) -> str:
        return str(getattr(self, f"name_{lang}", None) or self.name_ru)


@dataclass(frozen=True)
class InvitationOpening:
    """An invitation as opening its response needs it (`INVITATION_OPENING`)."""

    id: int
    survey_id: str
    expires_at: datetime
    service_event_id: int
    delivered_at: datetime
    service: PublicService  # as if loaded in the unit of work's session
    service_point_id: int | None
    open_response_id: int | None  # the person's newest survey in progress, if any


@dataclass
class LiveResponse:
    """What answering needs to know about one open response: read in one round trip, and
    remembered between updates by the worker that read it. Remembered `answers` may be behind
    the database (another worker took the next one); the statement that stores an answer
    checks them, so a decision made on them is never stored wrongly."""

    id: int
    survey_id: str
    service: ServiceNames
    office_id: int | None  # None: a service without an office (eGov)
    owner_key: str
    language: str | None  # the owner's chosen language
    answers: dict[str, AnswerValue]


class ResponseStore:
    """Respondents and responses, over the session of one unit of work. Nothing here commits."""

    def __init__(self, unit: SessionHolder, writer: AnswerWriter) -> None:
        """`unit`: the unit of work whose session this works in (opened when first needed)."""
        self._unit = unit
        self._writer = writer
        self._opened: set[int] = set()  # responses this unit of work created: no answers yet
        # Write-back addresses (sealed) read with their respondents, None: none kept.
        self._addresses: dict[int, bytes | None] = {}

    @property
    def _session(self) -> AsyncSession:
        return self._unit.session

    # Respondents ----------------------------------------------------------------------------

    async def respondent(self, key: str, language: str | None = None) -> Respondent:
        """The respondent with this pseudonym, created on first contact (race-safe)."""
        found = await self.find_respondent(key)
        if found is not None:
            return found
        await self._session.execute(
            self._writer.insert(Respondent)
            .values(key=key, language=language, created_at=utcnow())
            .on_conflict_do_nothing(index_elements=["key"])
        )
        created = await self.find_respondent(key)
        assert created is not None
        return created

    async def find_respondent(self, key: str) -> Respondent | None:
        """The respondent with this pseudonym, if there is one (nothing is created)."""
        # Read without opening a transaction where the database allows it (one round trip),
        # then put it in the session as if loaded there: changes to it are saved by the commit.
        rows = await self._read(RESPONDENT, {"key": key})
        if not rows:
            return None
        respondent_id, language, created_at, address = rows[0]
        self._addresses[respondent_id] = address
        values = {"id": respondent_id, "key": key, "language": language, "created_at": created_at}
        return self._as_loaded(Respondent, values)

    async def set_language(self, respondent: Respondent, language: str) -> None:
        respondent.language = language
        await self._session.execute(
            update(Response)
            .where(
                Response.respondent_id == respondent.id,
                Response.status == ResponseStatus.IN_PROGRESS,
            )
            .values(language=language)
        )

    async def remember_address(
        self, respondent: Respondent, channel: Channel, address: str, box: AddressBox
    ) -> None:
        """Keep (encrypted, apart from answers) what is needed to write back to this person."""
        if respondent.id in self._addresses:
            kept = self._addresses[respondent.id]
        else:
            rows = await self._read(ADDRESS, {"respondent_id": respondent.id})
            kept = rows[0][0] if rows else None
        if kept is not None and box.open(kept) == address:
            return
        sealed = box.seal(address)
        statement = self._writer.insert(ChatAddress).values(
            respondent_id=respondent.id,
            channel=channel,
            encrypted_address=sealed,
            created_at=utcnow(),
        )
        await self._session.execute(
            statement.on_conflict_do_update(
                index_elements=["respondent_id"],
                set_={"encrypted_address": statement.excluded.encrypted_address},
            )
        )
        self._addresses[respondent.id] = sealed

    async def forget(self, respondent: Respondent) -> None:
        """/stop: stop any open survey, delete the write-back address and the pseudonym itself.
        Completed answers stay, anonymous, no longer linked to anyone."""
        await self._session.execute(
            update(Response)
            .where(
                Response.respondent_id == respondent.id,
                Response.status == ResponseStatus.IN_PROGRESS,
            )
            .values(status=ResponseStatus.STOPPED, updated_at=utcnow())
        )
        await self._session.execute(
            delete(ChatAddress).where(ChatAddress.respondent_id == respondent.id)
        )
        await self._session.execute(
            update(Response)
            .where(Response.respondent_id == respondent.id)
            .values(respondent_id=None)
        )
        await self._session.execute(delete(Respondent).where(Respondent.id == respondent.id))
        self._addresses.pop(respondent.id, None)

    # Responses ------------------------------------------------------------------------------

    async def open_response(self, respondent: Respondent) -> Response | None:
        """The respondent's unfinished survey, if any (the newest)."""
        found: Response | None = await self._session.scalar(
            select(Response)
            .where(
                Response.respondent_id == respondent.id,
                Response.status == ResponseStatus.IN_PROGRESS,
            )
            .order_by(Response.id.desc())
            .limit(1)
            .options(joinedload(Response.service).joinedload(PublicService.agency))
        )
        return found

    async def response(self, response_id: int) -> Response | None:
        found: Response | None = await self._session.scalar(
            select(Response)
            .where(Response.id == response_id)
            .options(joinedload(Response.service).joinedload(PublicService.agency))
        )
        return found

    async def of_invitation(self, invitation_id: int) -> Response | None:
        """The one response of an invitation, if it was started."""
        found: Response | None = await self._session.scalar(
            select(Response)
            .where(Response.invitation_id == invitation_id)
            .options(joinedload(Response.service).joinedload(PublicService.agency))
        )
        return found

    async def invitation_opening(
        self, token: str, respondent: Respondent | None
    ) -> InvitationOpening | InvitationProblem:
        """The invitation a token opens (for this person, whose open survey it reads too), or
        why it opens none (unknown, expired). Whether it is used up depends on the response it
        has: the start's check."""
        if not token or len(token) > 64:
            return InvitationProblem.UNKNOWN
        owner = respondent.id if respondent is not None else None
        params = {"token_hash": token_hash(token), "respondent_id": owner}
        rows = await self._read(INVITATION_OPENING, params)
        if not rows:
            return InvitationProblem.UNKNOWN
        row = rows[0]
        invitation_id, survey_id, expires_at, used_at, event_id, delivered_at, office_id = row[:7]
        if expires_at <= utcnow() and used_at is None:
            return InvitationProblem.EXPIRED
        service = self._as_loaded(PublicService, dict(zip(_SERVICE.c.keys(), row[8:], strict=True)))
        return InvitationOpening(
            invitation_id,
            survey_id,
            expires_at,
            event_id,
            delivered_at,
            service,
            office_id,
            row[7],
        )

    def _as_loaded(self, model: type[T], values: dict[str, Any]) -> T:
        """A row read outside the ORM as an object of the session, as if loaded there (the
        one already in it, if it is)."""
        known = self._session.sync_session.identity_map.get(identity_key(model, values["id"]))
        if isinstance(known, model):
            return known
        loaded = model(**values)
        make_transient_to_detached(loaded)
        self._session.add(loaded)
        return loaded

    async def start_for_invitation(
        self,
        invitation: InvitationOpening,
        respondent: Respondent,
        channel: Channel,
        language: str,
        survey_version: str,
    ) -> Response | InvitationProblem:
        """Open the one response of an invitation, or continue it: the link is the citizen's
        key, so whoever opens it (another device, after /stop) carries on where it stopped,
        until it is completed or the invitation expires. A finished one means the link is
        used up."""
        # The common case first: no response of this invitation yet. Its one response is
        # enforced by a unique index: a second start (a tap on the link again, or two at
        # once) inserts nothing, and is told apart afterwards, instead of a read every time.
        service = invitation.service
        opening = Opening(
            respondent.id,
            invitation.survey_id,
            survey_version,
            channel,
            language,
            invitation.id,
            invitation.service_event_id,
            service.id,
            invitation.service_point_id,
            utcnow(),
            funnel.FunnelKey.of(
                invitation.delivered_at, service.agency_id, service.id, invitation.service_point_id
            ),
        )
        response_id = await self._writer.open(self._unit, opening)
        if response_id is None:
            return await self._continue_invitation(invitation, respondent, language)
        # The stored row as an object of the session, as if loaded (every column set), with its
        # service already read with the invitation: no reload.
        response = self._as_loaded(Response, {"id": response_id, **opening.row()})
        set_committed_value(response, "service", service)
        self._opened.add(response_id)
        return response

    async def _continue_invitation(
        self, invitation: InvitationOpening, respondent: Respondent, language: str
    ) -> Response | InvitationProblem:
        """The invitation's response exists. Unfinished (in progress, or stopped by /stop or
        by another survey) and the invitation not expired: it continues, now the presser's.
        Completed, abandoned or expired: the link is used up."""
        existing = await self.of_invitation(invitation.id)
        if existing is None or existing.status is ResponseStatus.COMPLETED:
            return InvitationProblem.USED
        if existing.status not in _UNFINISHED or invitation.expires_at <= utcnow():
            return InvitationProblem.EXPIRED  # abandoned, or about to be
        if existing.respondent_id != respondent.id or existing.status is ResponseStatus.STOPPED:
            await self._stop_other_open_responses(respondent, keep_invitation=invitation.id)
            await self._session.execute(
                update(_RESPONSE)
                .where(
                    _RESPONSE.c.id == existing.id,
                    _RESPONSE.c.status.in_([ResponseStatus.IN_PROGRESS, ResponseStatus.STOPPED]),
                )
                .values(
                    respondent_id=respondent.id,
                    status=ResponseStatus.IN_PROGRESS,
                    language=language,
                    updated_at=utcnow(),
                )
            )
            await self._session.refresh(existing)
        return existing

    async def start_walk_in(
        self,
        service: PublicService,
        office: ServicePoint | None,
        respondent: Respondent,
        channel: Channel,
        language: str,
        survey_version: str,
    ) -> Response:
        """A response from an office QR code: no service event behind it, marked as walk-in."""
        await self._stop_other_open_responses(respondent)
        now = utcnow()
        response = Response(
            respondent_id=respondent.id,
            survey_id=service.survey_id,
            survey_version=survey_version,
            channel=channel,
            language=language,
            service_id=service.id,
            service_point_id=office.id if office else None,
            walk_in=True,
            started_at=now,
            updated_at=now,
        )
        self._session.add(response)
        await self._session.flush()
        self._opened.add(response.id)
        return await self._reload(response.id)

    async def _stop_other_open_responses(
        self, respondent: Respondent, keep_invitation: int = NO_INVITATION
    ) -> None:
        await self._session.execute(
            STOP_OTHER_OPEN_RESPONSES,
            {"owner_id": respondent.id, "keep_invitation": keep_invitation, "now": utcnow()},
        )

    async def _reload(self, response_id: int) -> Response:
        response = await self.response(response_id)
        assert response is not None
        return response

    async def services_at(self, office: ServicePoint) -> list[PublicService]:
        result = await self._session.scalars(
            select(PublicService)
            .where(PublicService.agency_id == office.agency_id)
            .order_by(PublicService.code)
        )
        return list(result)

    async def service(self, service_id: int) -> PublicService | None:
        return await self._session.get(PublicService, service_id)

    async def agency(self, agency_id: int) -> Agency | None:
        return await self._session.get(Agency, agency_id)

    async def office(self, office_id: int) -> ServicePoint | None:
        return await self._session.get(ServicePoint, office_id)

    async def walk_ins_since(self, respondent: Respondent, since: datetime) -> int:
        """How many walk-ins the respondent started since then."""
        count = await self._session.scalar(
            select(func.count(Response.id)).where(
                Response.respondent_id == respondent.id,
                Response.walk_in.is_(True),
                Response.started_at >= since,
            )
        )
        return int(count or 0)

    async def close_abandoned(self, now: datetime, limit: int = 1000) -> int:
        """Close as abandoned (and count in the funnel) up to `limit` unfinished responses
        whose invitation has expired: its link no longer continues them. Returns how many."""
        expired = (
            select(Invitation.id)
            .where(Invitation.id == Response.invitation_id, Invitation.expires_at <= now)
            .correlate(Response)
        )
        candidates = (
            select(Response.id)
            .where(Response.status.in_(_UNFINISHED), exists(expired))
            .order_by(Response.id)
            .limit(limit)
        )
        closed = (
            await self._session.execute(
                update(_RESPONSE)
                .where(_RESPONSE.c.id.in_(candidates), _RESPONSE.c.status.in_(_UNFINISHED))
                .values(status=ResponseStatus.ABANDONED, updated_at=now)
                .returning(_RESPONSE.c.id)
            )
        ).scalars()
        ids = list(closed)
        if not ids:
            return 0
        events = await self._session.execute(
            select(
                _EVENT.c.delivered_at,
                _SERVICE.c.agency_id,
                _RESPONSE.c.service_id,
                _RESPONSE.c.service_point_id,
            )
            .join(_EVENT, _EVENT.c.id == _RESPONSE.c.service_event_id)
            .join(_SERVICE, _SERVICE.c.id == _RESPONSE.c.service_id)
            .where(_RESPONSE.c.id.in_(ids))
        )
        counts: Counter[funnel.FunnelKey] = Counter(
            funnel.FunnelKey.of(delivered_at, agency_id, service_id, point_id)
            for delivered_at, agency_id, service_id, point_id in events
        )
        await funnel.add_abandoned(self._session, counts)
        return len(ids)

    # Answering, lean: few round trips, no ORM objects --------------------------------------

    async def live_response(
        self, response_id: int, owner_key: str
    ) -> LiveResponse | ResponseStatus | None:
        """The response as answering needs it, if it is in progress and `owner_key`'s; else
        None (unknown, or someone else's) or its status (completed, stopped)."""
        rows = await self._writer.read_live(self._unit, LIVE_RESPONSE, response_id, owner_key)
        answers = {row[9]: row[10] for row in rows if row[9] is not None}
        if not rows:
            return None
        status, survey_id, mine, language, service_id, kk, ru, en, office_id = rows[0][:9]
        if not mine:
            return None
        if ResponseStatus(status) is not ResponseStatus.IN_PROGRESS:
            return ResponseStatus(status)
        return LiveResponse(
            response_id,
            survey_id,
            ServiceNames(service_id, kk, ru, en),
            office_id,
            owner_key,
            language,
            answers,
        )

    async def record_answer(
        self,
        response_id: int,
        question: str,
        value: AnswerValue,
        *,
        known: int | None = None,
        owner_key: str | None = None,
        completing: Completing | None = None,
    ) -> Recorded:
        """Store one answer if the response is in progress, is `owner_key`'s (when given) and
        holds exactly `known` answers (when given). `completing`: it is the last answer; the
        response is completed and queued for counting and the ledger in the same transaction,
        so neither is ever kept without the other. The unit of work commits; an answer that
        does not complete may be committed at once with others by the writer (PostgreSQL)."""
        self._opened.discard(response_id)
        write = AnswerWrite(
            response_id,
            question,
            kept_answer(value),  # free text is stored scrubbed of personal data
            utcnow(),
            known,
            owner_key,
        )
        if completing is None:
            return await self._writer.record(self._unit, write, RESPONSE_STATE)
        recorded, completed = await self._writer.record_last(self._unit, write, RESPONSE_STATE)
        if completed is not None:
            await self._queue(completed, completing.metrics, completing.complaint_requested)
        return recorded

    async def _read(
        self, statement: Executable, params: Mapping[str, Any]
    ) -> Sequence[Sequence[Any]]:
        return await self._writer.read(self._unit, statement, params)

    async def load_answers(self, response_id: int) -> dict[str, AnswerValue]:
        if response_id in self._opened:
            return {}
        rows = await self._read(ANSWERS, {"response_id": response_id})
        return {question: value for question, value in rows}

    async def complete(
        self,
        response_id: int,
        metrics: Iterable[tuple[str, str]],
        complaint_requested: bool,
    ) -> bool:
        """Complete the response and queue it for counting and the ledger, in the unit of
        work's transaction; False when it was not in progress (nothing written: completed
        already, a duplicate delivery)."""
        now = utcnow()
        row = (
            await self._session.execute(COMPLETE, {"completing_id": response_id, "now": now})
        ).first()
        if row is None:
            return False
        await self._queue(Completion(response_id, now), metrics, complaint_requested)
        return True

    async def _queue(
        self,
        completed: Completion,
        metrics: Iterable[tuple[str, str]],
        complaint_requested: bool,
    ) -> None:
        """What follows a completion in its transaction: the complaint asked for, and the
        response queued with what it counts. The chain keeper counts it into the rollups and
        the funnel (or, flagged, counts its exclusion) and chains it, within about a second."""
        if complaint_requested:
            self._session.add(
                ComplaintRequest(
                    response_id=completed.response_id, created_at=completed.completed_at
                )
            )
        await queue_completed(self._session, completed.response_id, completed.completed_at, metrics)
