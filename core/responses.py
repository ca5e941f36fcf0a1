"""Respondents and responses: the storage side of a survey conversation.

`ResponseStore` is the storage of one update or request. It commits at every durable point
(each answer; the last answer together with the completion), so a crash or a lost Redis never
loses an answer given, nor keeps a finished survey uncounted.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, cast
from weakref import WeakKeyDictionary

from sqlalchemy import (
    Integer,
    Row,
    Table,
    bindparam,
    delete,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import joinedload, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key
from sqlalchemy.sql import Executable

from core import funnel
from core.answer_batch import RECORD_ANSWERS, AnswerWrite, answer_arrays, answer_batch, verdict
from core.answer_text import kept_answer
from core.clock import utcnow
from core.identity import AddressBox
from core.integrity import on_completed
from core.invitations import InvitationProblem
from core.models import (
    Answer,
    Base,
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
log = logging.getLogger(__name__)

COMPLETION_ATTEMPTS = 3
# PostgreSQL's codes for a transaction aborted to break a lock cycle, or a serialisation clash.
_LOCK_RACES = {"40P01", "40001"}


def _lost_a_lock_race(error: DBAPIError) -> bool:
    return getattr(error.orig, "sqlstate", None) in _LOCK_RACES


_VALUE_TYPE = Answer.__table__.c.value.type
_TIME_TYPE = Answer.__table__.c.answered_at.type

# What answering needs to know about one response, as LIVE_RESPONSE below, for asyncpg.
LIVE_RESPONSE_POSTGRESQL = """
SELECT r.status, r.survey_id,
       r.respondent_id = (SELECT p.id FROM respondent p WHERE p.key = $2),
       (SELECT p.language FROM respondent p WHERE p.key = $2),
       s.id, s.name_kk, s.name_ru, s.name_en, a.question, a.value
FROM response r
JOIN public_service s ON s.id = r.service_id
LEFT JOIN answer a ON a.response_id = r.id
WHERE r.id = $1
"""

# The same on SQLite (no data-modifying WITH there), as statements of one transaction.
INSERT_ANSWER = text(
    "INSERT INTO answer (response_id, question, value, answered_at) "
    "VALUES (:response_id, :question, :value, :answered_at) "
    "ON CONFLICT (response_id, question) DO NOTHING"
).bindparams(
    bindparam("value", type_=_VALUE_TYPE),
    bindparam("answered_at", type_=_TIME_TYPE),
)
_OWNER_ID = select(Respondent.id).where(Respondent.key == bindparam("owner")).scalar_subquery()
_OWNER_LANGUAGE = (
    select(Respondent.language).where(Respondent.key == bindparam("owner")).scalar_subquery()
)
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
# state and owner, the owner's language, and the answers so far (one row each).
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
RESPONDENT = select(_RESPONDENT.c.id, _RESPONDENT.c.language, _RESPONDENT.c.created_at).where(
    _RESPONDENT.c.key == bindparam("key")
)
ADDRESS = select(_ADDRESS.c.encrypted_address).where(
    _ADDRESS.c.respondent_id == bindparam("respondent_id")
)
ANSWERS = select(_ANSWER.c.question, _ANSWER.c.value).where(
    _ANSWER.c.response_id == bindparam("response_id")
)
NO_INVITATION = 0  # no invitation has this id: a walk-in keeps none of its open responses
# One survey at a time per person: starting another leaves the old one as it is (partial).
# Built once, with its values bound per call: a start builds no statement.
STOP_OTHER_OPEN_RESPONSES = (
    update(_RESPONSE)
    .where(
        _RESPONSE.c.respondent_id == bindparam("owner_id"),
        _RESPONSE.c.status == ResponseStatus.IN_PROGRESS,
        _RESPONSE.c.invitation_id.is_distinct_from(bindparam("keep_invitation", type_=Integer)),
    )
    .values(
        status=ResponseStatus.STOPPED,
        updated_at=bindparam("now", type_=_RESPONSE.c.updated_at.type),
    )
)
OPEN_RESPONSE = insert(_RESPONSE).returning(_RESPONSE.c.id)
_INVITATION = cast(Table, Invitation.__table__)
USE_INVITATION = (
    update(_INVITATION)
    .where(_INVITATION.c.id == bindparam("used"))
    .values(used_at=bindparam("now", type_=_INVITATION.c.used_at.type))
)
# Completing: status and times set, and what counting it needs returned (the agency, and
# the event's delivery day, on which the funnel counts the completion), in one statement
# built once.
COMPLETE = (
    update(_RESPONSE)
    .where(
        _RESPONSE.c.id == bindparam("completing_id"),
        _RESPONSE.c.status == ResponseStatus.IN_PROGRESS,
    )
    .values(
        status=ResponseStatus.COMPLETED,
        completed_at=bindparam("now", type_=_RESPONSE.c.completed_at.type),
        updated_at=bindparam("now", type_=_RESPONSE.c.updated_at.type),
    )
    .returning(
        _RESPONSE.c.channel,
        _RESPONSE.c.service_id,
        _RESPONSE.c.service_point_id,
        _RESPONSE.c.respondent_id,
        _RESPONSE.c.started_at,
        _RESPONSE.c.service_event_id,
        select(_SERVICE.c.agency_id)
        .where(_SERVICE.c.id == _RESPONSE.c.service_id)
        .scalar_subquery(),
        select(_EVENT.c.delivered_at)
        .where(_EVENT.c.id == _RESPONSE.c.service_event_id)
        .scalar_subquery(),
    )
)

_AUTOCOMMIT: WeakKeyDictionary[Engine, AsyncEngine] = WeakKeyDictionary()


def _autocommit(engine: AsyncEngine) -> AsyncEngine:
    """The same engine and pool, each statement committed on its own (no BEGIN, no COMMIT)."""
    found = _AUTOCOMMIT.get(engine.sync_engine)
    if found is None:
        found = _AUTOCOMMIT[engine.sync_engine] = engine.execution_options(
            isolation_level="AUTOCOMMIT"
        )
    return found


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


@dataclass
class LiveResponse:
    """What answering needs to know about one open response: read in one round trip, and
    remembered between updates by the worker that read it. Remembered `answers` may be behind
    the database (another worker took the next one); the statement that stores an answer
    checks them, so a decision made on them is never stored wrongly."""

    id: int
    survey_id: str
    service: ServiceNames
    owner_key: str
    language: str | None  # the owner's chosen language
    answers: dict[str, AnswerValue]


@dataclass(frozen=True)
class Recorded:
    """What storing an answer did. `open`: the response is in progress (and the owner's);
    `stored`: the answer was stored (False: the question had one, or the answers moved on)."""

    open: bool
    stored: bool
    language: str | None = None


class ResponseStore:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._opened: set[int] = set()  # responses this unit of work created: no answers yet

    # Respondents ----------------------------------------------------------------------------

    async def respondent(self, key: str, language: str | None = None) -> Respondent:
        """The respondent with this pseudonym, created on first contact (race-safe)."""
        found = await self._find_respondent(key)
        if found is not None:
            return found
        await self.session.execute(
            self._insert(Respondent)
            .values(key=key, language=language, created_at=utcnow())
            .on_conflict_do_nothing(index_elements=["key"])
        )
        await self.session.commit()
        created = await self._find_respondent(key)
        assert created is not None
        return created

    async def _find_respondent(self, key: str) -> Respondent | None:
        # Read without opening a transaction (one round trip), then put it in the session as
        # if loaded there, so that changes to it are saved by the next commit.
        rows = await self._read(RESPONDENT, {"key": key})
        if not rows:
            return None
        respondent_id, language, created_at = rows[0]
        sync = self.session.sync_session
        known = sync.identity_map.get(identity_key(Respondent, respondent_id))
        if isinstance(known, Respondent):
            return known
        respondent = Respondent(id=respondent_id, key=key, language=language, created_at=created_at)
        make_transient_to_detached(respondent)
        self.session.add(respondent)
        return respondent

    async def set_language(self, respondent: Respondent, language: str) -> None:
        respondent.language = language
        await self.session.execute(
            update(Response)
            .where(
                Response.respondent_id == respondent.id,
                Response.status == ResponseStatus.IN_PROGRESS,
            )
            .values(language=language)
        )
        await self.session.commit()

    async def remember_address(
        self, respondent: Respondent, channel: Channel, address: str, box: AddressBox
    ) -> None:
        """Keep (encrypted, apart from answers) what is needed to write back to this person."""
        rows = await self._read(ADDRESS, {"respondent_id": respondent.id})
        if rows and box.open(rows[0][0]) == address:
            return
        statement = self._insert(ChatAddress).values(
            respondent_id=respondent.id,
            channel=channel,
            encrypted_address=box.seal(address),
            created_at=utcnow(),
        )
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=["respondent_id"],
                set_={"encrypted_address": statement.excluded.encrypted_address},
            )
        )
        await self.session.commit()

    async def forget(self, respondent: Respondent) -> None:
        """/stop: stop any open survey, delete the write-back address and the pseudonym itself.
        Completed answers stay, anonymous, no longer linked to anyone."""
        await self.session.execute(
            update(Response)
            .where(
                Response.respondent_id == respondent.id,
                Response.status == ResponseStatus.IN_PROGRESS,
            )
            .values(status=ResponseStatus.STOPPED, updated_at=utcnow())
        )
        await self.session.execute(
            delete(ChatAddress).where(ChatAddress.respondent_id == respondent.id)
        )
        await self.session.execute(
            update(Response)
            .where(Response.respondent_id == respondent.id)
            .values(respondent_id=None)
        )
        await self.session.execute(delete(Respondent).where(Respondent.id == respondent.id))
        await self.session.commit()

    def _insert(self, model: type[Base]) -> Any:
        dialect = self.session.get_bind().dialect.name
        return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)

    # Responses ------------------------------------------------------------------------------

    async def open_response(self, respondent: Respondent) -> Response | None:
        """The respondent's unfinished survey, if any (the newest)."""
        found: Response | None = await self.session.scalar(
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
        found: Response | None = await self.session.scalar(
            select(Response)
            .where(Response.id == response_id)
            .options(joinedload(Response.service).joinedload(PublicService.agency))
        )
        return found

    async def start_for_invitation(
        self,
        invitation: Invitation,
        respondent: Respondent,
        channel: Channel,
        language: str,
        survey_version: str,
    ) -> Response | InvitationProblem:
        """Open (or resume) the one response of an invitation. Someone else's, or a finished
        one, means the link is used up."""
        # The common case first: no response of this invitation yet. Its one response is
        # enforced by a unique index, so a second start (a tap on the link again, or two at
        # once) fails the insert and is told apart afterwards, instead of a read every time.
        invitation_id, respondent_id = invitation.id, respondent.id
        event = invitation.service_event
        now = utcnow()
        await self.session.execute(
            STOP_OTHER_OPEN_RESPONSES,
            {"owner_id": respondent_id, "keep_invitation": invitation_id, "now": now},
        )
        opened: dict[str, Any] = {
            "respondent_id": respondent_id,
            "survey_id": invitation.survey_id,
            "survey_version": survey_version,
            "channel": channel,
            "language": language,
            "status": ResponseStatus.IN_PROGRESS,
            "invitation_id": invitation_id,
            "service_event_id": event.id,
            "service_id": event.service_id,
            "service_point_id": event.service_point_id,
            "walk_in": False,
            "started_at": now,
            "updated_at": now,
            "completed_at": None,
        }
        try:
            # Core statements, not the unit of work: its flush costs more than these two.
            response_id = (await self.session.execute(OPEN_RESPONSE, opened)).scalar_one()
            await self.session.execute(USE_INVITATION, {"used": invitation_id, "now": now})
            await funnel.count(
                self.session,
                funnel.FunnelStep.STARTED,
                agency_id=event.service.agency_id,
                service_id=event.service_id,
                service_point_id=event.service_point_id,
                delivered_at=event.delivered_at,
            )
            await self.session.commit()
        except IntegrityError:
            await self.session.rollback()  # nothing of this start stays, the stop included
            return await self._existing_for_invitation(invitation_id, respondent)
        # The stored row as an object of the session, as if loaded (every column set), with its
        # service already loaded with the invitation: no reload after the commit.
        response = Response(id=response_id, **opened)
        make_transient_to_detached(response)
        self.session.add(response)
        set_committed_value(response, "service", event.service)
        set_committed_value(invitation, "used_at", now)
        self._opened.add(response_id)
        return response

    async def _existing_for_invitation(
        self, invitation_id: int, respondent: Respondent
    ) -> Response | InvitationProblem:
        """The invitation's response exists: the presser's own unfinished one resumes; someone
        else's, or a finished one, means the link is used up."""
        await self.session.refresh(respondent)  # the rollback expired it
        existing = await self.session.scalar(
            select(Response).where(Response.invitation_id == invitation_id)
        )
        if (
            existing is not None
            and existing.respondent_id == respondent.id
            and existing.status is ResponseStatus.IN_PROGRESS
        ):
            return await self._reload(existing.id)
        return InvitationProblem.USED

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
        self.session.add(response)
        await self.session.commit()
        self._opened.add(response.id)
        return await self._reload(response.id)

    async def _stop_other_open_responses(self, respondent: Respondent) -> None:
        await self.session.execute(
            STOP_OTHER_OPEN_RESPONSES,
            {"owner_id": respondent.id, "keep_invitation": NO_INVITATION, "now": utcnow()},
        )

    async def _reload(self, response_id: int) -> Response:
        response = await self.response(response_id)
        assert response is not None
        return response

    async def services_at(self, office: ServicePoint) -> list[PublicService]:
        result = await self.session.scalars(
            select(PublicService)
            .where(PublicService.agency_id == office.agency_id)
            .order_by(PublicService.code)
        )
        return list(result)

    async def service(self, service_id: int) -> PublicService | None:
        return await self.session.get(PublicService, service_id)

    async def office(self, office_id: int) -> ServicePoint | None:
        return await self.session.get(ServicePoint, office_id)

    # Answering, lean: few round trips, no ORM objects --------------------------------------

    async def live_response(
        self, response_id: int, owner_key: str
    ) -> LiveResponse | ResponseStatus | None:
        """The response as answering needs it, if it is in progress and `owner_key`'s; else
        None (unknown, or someone else's) or its status (completed, stopped)."""
        rows: Sequence[Sequence[Any]]
        if self._on_asyncpg():
            rows = await self._on_driver(LIVE_RESPONSE_POSTGRESQL, response_id, owner_key)
        else:
            rows = await self._read(LIVE_RESPONSE, {"response_id": response_id, "owner": owner_key})
        # (SQLAlchemy gives the pool's asyncpg connections a JSONB codec: values come decoded,
        # and go in as JSON text.)
        answers = {row[8]: row[9] for row in rows if row[8] is not None}
        if not rows:
            return None
        status, survey_id, mine, language, service_id, kk, ru, en = rows[0][:8]
        if not mine:
            return None
        if ResponseStatus(status) is not ResponseStatus.IN_PROGRESS:
            return ResponseStatus(status)
        return LiveResponse(
            response_id,
            survey_id,
            ServiceNames(service_id, kk, ru, en),
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
        """Store one answer, committed at once, if the response is in progress, is
        `owner_key`'s (when given) and holds exactly `known` answers (when given).
        `completing`: it is the last answer; the response is completed, counted and queued
        for the ledger in the same transaction, so neither is ever kept without the other."""
        self._opened.discard(response_id)
        value = kept_answer(value)  # free text is stored scrubbed of personal data
        params = {
            "response_id": response_id,
            "question": question,
            "value": value,
            "answered_at": utcnow(),
            "known": known,
            "owner": owner_key,
        }
        if completing is not None:
            return await self._record_last_answer(params, completing)
        if self._on_asyncpg():
            write = AnswerWrite(
                response_id, question, value, params["answered_at"], known, owner_key
            )
            bind = self.session.bind
            if isinstance(bind, AsyncEngine) and not self.session.in_transaction():
                # With the answers given at the same moment: one round trip and commit for all.
                return Recorded(*await answer_batch(bind).record(write))
            # Inside the unit of work's transaction: the same statement for this answer alone.
            rows = await self._on_driver(RECORD_ANSWERS, *answer_arrays([write]))
            await self.session.commit()
            return Recorded(*verdict(rows[0]))
        return await self._record_answer_in_transaction(params)

    async def _record_last_answer(self, params: dict[str, Any], completing: Completing) -> Recorded:
        """The last answer and the completion, one transaction. Completions at one office
        and day update the same rollup rows, so two can deadlock on PostgreSQL: the one the
        server aborts was rolled back whole and is run again."""
        for attempt in range(1, COMPLETION_ATTEMPTS + 1):
            try:
                recorded = await self._store_answer_uncommitted(params)
                if recorded.stored:
                    await self._complete_uncommitted(
                        params["response_id"], completing.metrics, completing.complaint_requested
                    )
                await self.session.commit()
                return recorded
            except DBAPIError as error:
                await self.session.rollback()
                if attempt == COMPLETION_ATTEMPTS or not _lost_a_lock_race(error):
                    raise
                log.info("last answer of %s: %s; trying again", params["response_id"], error.orig)
            except BaseException:
                await self.session.rollback()
                raise
        raise AssertionError("unreachable")

    async def _store_answer_uncommitted(self, params: dict[str, Any]) -> Recorded:
        """One answer, checked as `record_answer` does, in the session's transaction: portable
        statements through the session on every database (asyncpg's own statements would
        run beside the transaction, not in it, until the session has sent one)."""
        state = (await self.session.execute(RESPONSE_STATE, params)).first()
        if state is None:
            return Recorded(open=False, stored=False)
        status, mine, count, language = state
        is_open = status is ResponseStatus.IN_PROGRESS and (params["owner"] is None or bool(mine))
        if not is_open or (params["known"] is not None and count != params["known"]):
            return Recorded(is_open, False, language)
        inserted = await self.session.execute(INSERT_ANSWER, params)
        stored = getattr(inserted, "rowcount", 1) == 1
        if stored:
            await self.session.execute(
                update(Response)
                .where(Response.id == params["response_id"])
                .values(updated_at=params["answered_at"])
            )
        return Recorded(True, stored, language)

    async def _record_answer_in_transaction(self, params: dict[str, Any]) -> Recorded:
        try:
            recorded = await self._store_answer_uncommitted(params)
        except BaseException:
            await self.session.rollback()
            raise
        # Commit even when nothing was written: a rollback would expire what the caller holds.
        await self.session.commit()
        return recorded

    def _on_asyncpg(self) -> bool:
        return self.session.get_bind().dialect.driver == "asyncpg"

    async def _on_driver(self, sql: str, *args: Any) -> Sequence[Sequence[Any]]:
        """Rows of one statement sent to asyncpg on a connection of the pool: inside the unit
        of work's transaction if one is open, else on its own (it commits as it runs)."""
        if self.session.in_transaction() or not isinstance(self.session.bind, AsyncEngine):
            connection = await self.session.connection()
            raw = await connection.get_raw_connection()
            return list(await raw.driver_connection.fetch(sql, *args))  # type: ignore[union-attr]
        async with self.session.bind.connect() as connection:
            raw = await connection.get_raw_connection()
            return list(await raw.driver_connection.fetch(sql, *args))  # type: ignore[union-attr]

    async def _read(self, statement: Executable, params: Mapping[str, Any]) -> Sequence[Row[Any]]:
        """Rows of one query: inside the unit of work's transaction if one is open, else on a
        connection of its own that begins and commits nothing (one round trip)."""
        if self.session.in_transaction() or not isinstance(self.session.bind, AsyncEngine):
            return (await self.session.execute(statement, params)).all()
        async with _autocommit(self.session.bind).connect() as connection:
            return (await connection.execute(statement, params)).all()

    # The engine's AnswerStore ---------------------------------------------------------------

    async def load_answers(self, response_id: int) -> dict[str, AnswerValue]:
        if response_id in self._opened:
            return {}
        rows = await self._read(ANSWERS, {"response_id": response_id})
        return {question: value for question, value in rows}

    async def save_answer(
        self,
        response_id: int,
        question: str,
        value: AnswerValue,
        known: int | None = None,
        *,
        completing: Completing | None = None,
    ) -> bool:
        recorded = await self.record_answer(
            response_id, question, value, known=known, completing=completing
        )
        return recorded.stored

    async def complete(
        self,
        response_id: int,
        metrics: Iterable[tuple[str, str]],
        complaint_requested: bool,
    ) -> None:
        """Complete the response, count it and queue it for the ledger, in one transaction;
        nothing when it is not in progress (completed already: a duplicate delivery). A lost
        lock race on PostgreSQL is run again, as for the last answer."""
        pairs = list(metrics)
        for attempt in range(1, COMPLETION_ATTEMPTS + 1):
            try:
                await self._complete_uncommitted(response_id, pairs, complaint_requested)
                # Commit even when nothing changed: a rollback would expire what the caller
                # holds loaded in this session.
                await self.session.commit()
                return
            except DBAPIError as error:
                await self.session.rollback()
                if attempt == COMPLETION_ATTEMPTS or not _lost_a_lock_race(error):
                    raise
                log.info("completing response %s: %s; trying again", response_id, error.orig)
            except BaseException:
                await self.session.rollback()
                raise

    async def _complete_uncommitted(
        self,
        response_id: int,
        metrics: list[tuple[str, str]],
        complaint_requested: bool,
    ) -> bool:
        """Complete and count the response in the open transaction; False when it was not
        in progress (nothing written)."""
        now = utcnow()
        completed = (
            await self.session.execute(COMPLETE, {"completing_id": response_id, "now": now})
        ).first()
        if completed is None:
            return False
        channel, service_id, service_point_id, respondent_id, started_at, service_event_id = (
            completed[:6]
        )
        agency_id, delivered_at = completed[6], completed[7]
        # What the rollups and the integrity rules read of it, without loading the row again.
        counted = Response(
            id=response_id,
            channel=channel,
            service_id=service_id,
            service_point_id=service_point_id,
            respondent_id=respondent_id,
            started_at=started_at,
            completed_at=now,
        )
        if complaint_requested:
            self.session.add(ComplaintRequest(response_id=response_id, created_at=now))
        await on_completed(self.session, counted, agency_id, metrics)
        if service_event_id is not None and delivered_at is not None:
            # What `funnel.count_event` would read again: the response has its event's service
            # and office.
            await funnel.count(
                self.session,
                funnel.FunnelStep.COMPLETED,
                agency_id=agency_id,
                service_id=service_id,
                service_point_id=service_point_id,
                delivered_at=delivered_at,
            )
        return True
