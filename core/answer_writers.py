"""How the answer path reads and writes on a given database: one port (`AnswerWriter`), two
implementations, picked once at start-up (`qanagat/app.py`, through `writer_for`).

`PlainAnswers` (here) runs portable statements in the unit of work's transaction (SQLite, and
any PostgreSQL driver). `BatchedAnswers` (`core/postgres_answers.py`) is for PostgreSQL
through asyncpg: fewer round trips for the same checks. What both share is here: what an
answer, an opening and a completion are, and the portable statements.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, cast

from sqlalchemy import Integer, Table, bindparam, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.sql import Executable

from core import funnel
from core.funnel import FunnelKey
from core.models import (
    Answer,
    Base,
    Channel,
    Invitation,
    Response,
    ResponseStatus,
)

_VALUE_TYPE = Answer.__table__.c.value.type
_TIME_TYPE = Answer.__table__.c.answered_at.type

# The portable statements of one answer, in the unit of work's transaction.
INSERT_ANSWER = text(
    "INSERT INTO answer (response_id, question, value, answered_at) "
    "VALUES (:response_id, :question, :value, :answered_at) "
    "ON CONFLICT (response_id, question) DO NOTHING"
).bindparams(
    bindparam("value", type_=_VALUE_TYPE),
    bindparam("answered_at", type_=_TIME_TYPE),
)


class SessionHolder(Protocol):
    """Where the answer path's statements run: a unit of work, whose session is opened only
    when something needs it."""

    @property
    def session(self) -> AsyncSession:
        """The session, opened if it was not."""
        ...

    def in_transaction(self) -> bool:
        """A transaction is open (asked without opening a session)."""
        ...


@dataclass(frozen=True)
class AnswerWrite:
    """One answer to store if its response is in progress, is `owner`'s (when given) and
    holds exactly `known` answers (when given)."""

    response_id: int
    question: str
    value: Any
    answered_at: datetime
    known: int | None
    owner: str | None

    def params(self) -> dict[str, Any]:
        return {
            "response_id": self.response_id,
            "question": self.question,
            "value": self.value,
            "answered_at": self.answered_at,
            "known": self.known,
            "owner": self.owner,
        }


@dataclass(frozen=True)
class Opening:
    """The response to open for an invitation (it has none yet, or this inserts nothing), and
    where its start is counted."""

    respondent_id: int
    survey_id: str
    survey_version: str
    channel: Channel
    language: str
    invitation_id: int
    service_event_id: int
    service_id: int
    service_point_id: int | None
    started_at: datetime
    funnel: FunnelKey

    def row(self) -> dict[str, Any]:
        """The response's columns."""
        return {
            "respondent_id": self.respondent_id,
            "survey_id": self.survey_id,
            "survey_version": self.survey_version,
            "channel": self.channel,
            "language": self.language,
            "status": ResponseStatus.IN_PROGRESS,
            "invitation_id": self.invitation_id,
            "service_event_id": self.service_event_id,
            "service_id": self.service_id,
            "service_point_id": self.service_point_id,
            "walk_in": False,
            "started_at": self.started_at,
            "updated_at": self.started_at,
            "completed_at": None,
        }

    def arguments(self) -> tuple[Any, ...]:
        """OPEN_RESPONSE's arguments ($1..$13)."""
        return (
            self.respondent_id,
            self.survey_id,
            self.survey_version,
            self.channel.value,
            self.language,
            self.invitation_id,
            self.service_event_id,
            self.service_id,
            self.service_point_id,
            self.started_at,
            self.funnel.day,
            self.funnel.agency_id,
            self.funnel.service_point_key,
        )


@dataclass(frozen=True)
class Completion:
    """A response just completed (the chain keeper reads what counting it needs)."""

    response_id: int
    completed_at: datetime


@dataclass(frozen=True)
class Recorded:
    """What storing an answer did. `open`: the response is in progress (and the owner's);
    `stored`: the answer was stored (False: the question had one, or the answers moved on)."""

    open: bool
    stored: bool
    language: str | None = None


class AnswerWriter(Protocol):
    """The database-specific part of the answer path."""

    async def close(self) -> None:
        """Let the answers waiting go, and close what the writer opened."""
        ...

    async def open(self, unit: SessionHolder, opening: Opening) -> int | None:
        """Open the invitation's response: its id, or None when the invitation has one
        already (nothing written then). Committed at once where it can be one statement
        outside a transaction (`BatchedAnswers`); otherwise in the unit's transaction."""
        ...

    def insert(self, model: type[Base] | Table) -> Any:
        """An INSERT of `model` that takes ON CONFLICT clauses."""
        ...

    async def read(
        self, unit: SessionHolder, statement: Executable, params: Mapping[str, Any]
    ) -> Sequence[Sequence[Any]]:
        """Rows of one query: in the unit's transaction if it has one open, else as cheaply
        as the database allows (no transaction of its own where it can)."""
        ...

    async def read_live(
        self, unit: SessionHolder, statement: Executable, response_id: int, owner: str
    ) -> Sequence[Sequence[Any]]:
        """The rows of `statement` (`core.responses.LIVE_RESPONSE`, the hottest read of the
        answer path) for this response and owner, or of the writer's own equivalent."""
        ...

    async def record_last(
        self, unit: SessionHolder, write: AnswerWrite, state: Executable
    ) -> tuple[Recorded, Completion | None]:
        """Store a survey's last answer and, when it was stored, complete its response, in the
        unit's transaction (the caller queues the completion in it, then commits). `state`:
        as for `record`."""
        ...

    async def record(self, unit: SessionHolder, write: AnswerWrite, state: Executable) -> Recorded:
        """Store one answer that does not complete its response. With no transaction open in
        the unit it may be committed at once, with others (`BatchedAnswers`); otherwise it
        is part of the unit's transaction, which the unit of work commits. `state`: the
        portable query of the response's status, owner and count of answers."""
        ...


_RESPONSE = cast(Table, Response.__table__)
_INVITATION = cast(Table, Invitation.__table__)
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
USE_INVITATION = (
    update(_INVITATION)
    .where(_INVITATION.c.id == bindparam("used"))
    .values(used_at=bindparam("now", type_=_INVITATION.c.used_at.type))
)


async def open_in_transaction(session: AsyncSession, opening: Opening, insert: Any) -> int | None:
    """OPEN_RESPONSE as portable statements in the session's transaction (the caller commits).
    `insert`: the dialect's INSERT that takes ON CONFLICT."""
    response_id: int | None = (
        await session.execute(
            insert(_RESPONSE)
            .on_conflict_do_nothing()
            .returning(_RESPONSE.c.id)
            .values(opening.row())
        )
    ).scalar()
    if response_id is None:
        return None
    now = opening.started_at
    await session.execute(
        STOP_OTHER_OPEN_RESPONSES,
        {"owner_id": opening.respondent_id, "keep_invitation": opening.invitation_id, "now": now},
    )
    await session.execute(USE_INVITATION, {"used": opening.invitation_id, "now": now})
    await funnel.count_key(session, funnel.FunnelStep.STARTED, opening.funnel)
    return response_id


# Completing: status and times set, in one statement built once; it returns a row only when
# the response was in progress.
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
    .returning(_RESPONSE.c.id)
)
TOUCH_RESPONSE = (
    update(_RESPONSE)
    .where(_RESPONSE.c.id == bindparam("response_id"))
    .values(updated_at=bindparam("answered_at", type_=_RESPONSE.c.updated_at.type))
)


async def record_in_transaction(
    session: AsyncSession, write: AnswerWrite, state: Executable, *, touch: bool = True
) -> Recorded:
    """One answer, checked, in the session's transaction (the caller commits): portable
    statements through the session on every database. `touch`: the response's last change
    is set to the answer's time (not when its completion sets it anyway)."""
    params = write.params()
    found = (await session.execute(state, params)).first()
    if found is None:
        return Recorded(open=False, stored=False)
    status, mine, count, language = found
    is_open = status is ResponseStatus.IN_PROGRESS and (write.owner is None or bool(mine))
    if not is_open or (write.known is not None and count != write.known):
        return Recorded(is_open, False, language)
    inserted = await session.execute(INSERT_ANSWER, params)
    stored = getattr(inserted, "rowcount", 1) == 1
    if stored and touch:
        await session.execute(TOUCH_RESPONSE, params)
    return Recorded(True, stored, language)


async def record_last_in_transaction(
    session: AsyncSession, write: AnswerWrite, state: Executable
) -> tuple[Recorded, Completion | None]:
    """RECORD_LAST_ANSWER as portable statements in the session's transaction."""
    recorded = await record_in_transaction(session, write, state, touch=False)
    if not recorded.stored:
        return recorded, None
    now = write.answered_at
    params = {"completing_id": write.response_id, "now": now}
    row = (await session.execute(COMPLETE, params)).first()
    return recorded, (Completion(write.response_id, now) if row is not None else None)


class PlainAnswers:
    """Every statement in the unit of work's transaction; nothing committed here."""

    def __init__(self, dialect: str = "sqlite") -> None:
        self._insert = postgresql.insert if dialect == "postgresql" else sqlite.insert

    def insert(self, model: type[Base] | Table) -> Any:
        return self._insert(model)

    async def open(self, unit: SessionHolder, opening: Opening) -> int | None:
        return await open_in_transaction(unit.session, opening, self._insert)

    async def close(self) -> None:
        """Nothing of its own to close: it works in the units' sessions."""

    async def read(
        self, unit: SessionHolder, statement: Executable, params: Mapping[str, Any]
    ) -> Sequence[Sequence[Any]]:
        return (await unit.session.execute(statement, params)).all()

    async def read_live(
        self, unit: SessionHolder, statement: Executable, response_id: int, owner: str
    ) -> Sequence[Sequence[Any]]:
        return await self.read(unit, statement, {"response_id": response_id, "owner": owner})

    async def record_last(
        self, unit: SessionHolder, write: AnswerWrite, state: Executable
    ) -> tuple[Recorded, Completion | None]:
        return await record_last_in_transaction(unit.session, write, state)

    async def record(self, unit: SessionHolder, write: AnswerWrite, state: Executable) -> Recorded:
        return await record_in_transaction(unit.session, write, state)


def writer_for(engine: AsyncEngine, *, statement_cache: bool = True) -> AnswerWriter:
    """The writer for this engine's database and driver: called once, at start-up.
    `statement_cache`: False behind PgBouncer in transaction mode (no named statements)."""
    dialect = engine.dialect
    if dialect.name == "postgresql" and dialect.driver == "asyncpg":
        from core.postgres_answers import BatchedAnswers  # it builds on this module

        return BatchedAnswers(engine, statement_cache=statement_cache)
    return PlainAnswers(dialect.name)
