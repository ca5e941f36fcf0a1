"""How the answer path reads and writes on a given database: one port (`AnswerWriter`), two
implementations, picked once at start-up (`qanagat/app.py`).

`PlainAnswers` runs portable statements in the unit of work's transaction (SQLite, and any
PostgreSQL driver). `BatchedAnswers` is for PostgreSQL through asyncpg: an answer that is not
a survey's last joins the answers given in the same turn of the event loop in one statement,
one round trip and one commit for all (`RECORD_ANSWERS`, through a `LoopTurnBatcher`); a
survey opened for an invitation is one statement too (`OPEN_RESPONSE`); and the reads that
open no transaction go on a connection of their own in autocommit. Each answer is still
checked and stored on its own terms (its response open and its owner's, its count of answers
as the caller decided), and each caller learns what became of its own answer. Inside a unit
of work's open transaction (it wrote before) both use the portable statements in it, so that
its commit keeps all or nothing.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, cast

import asyncpg
from sqlalchemy import Integer, Table, bindparam, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine.interfaces import Compiled
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.sql import ClauseElement, Executable
from sqlalchemy.sql.compiler import SQLCompiler

from core import funnel
from core.batching import LoopTurnBatcher
from core.funnel import FunnelKey
from core.models import (
    Answer,
    Base,
    Channel,
    Invitation,
    PublicService,
    Response,
    ResponseStatus,
    ServiceEvent,
)

# Every input row ($1..$6 as arrays, in order) gets one output row by its ordinal: whether
# its response is open (and the owner's), whether its answer was stored, the owner's language.
# A response that does not exist gives open = false. Two answers to one question in one call:
# the first stored, the second not (the unique key), as one after the other would.
RECORD_ANSWERS = """
WITH given AS (
    SELECT *
    FROM unnest($1::integer[], $2::varchar[], $3::jsonb[], $4::timestamptz[],
                $5::integer[], $6::varchar[])
         WITH ORDINALITY AS g(response_id, question, value, answered_at, known, owner, n)
),
target AS (
    SELECT g.n, g.response_id, g.question, g.value, g.answered_at,
           r.status = 'in_progress' AND (
               g.owner IS NULL
               OR r.respondent_id = (SELECT p.id FROM respondent p WHERE p.key = g.owner)
           ) AS open,
           g.known IS NULL OR (
               SELECT count(*) FROM answer a WHERE a.response_id = r.id
           ) = g.known AS current
    FROM given g
    JOIN response r ON r.id = g.response_id
),
stored AS (
    INSERT INTO answer (response_id, question, value, answered_at)
    SELECT DISTINCT ON (response_id, question) response_id, question, value, answered_at
    FROM target
    WHERE open AND current
    ORDER BY response_id, question, n
    ON CONFLICT (response_id, question) DO NOTHING
    RETURNING response_id, question
),
first_stored AS (
    SELECT DISTINCT ON (t.response_id, t.question) t.n, t.response_id, t.answered_at
    FROM target t
    JOIN stored s ON s.response_id = t.response_id AND s.question = t.question
    ORDER BY t.response_id, t.question, t.n
),
touched AS (
    UPDATE response r SET updated_at = latest.answered_at
    FROM (
        SELECT response_id, max(answered_at) AS answered_at
        FROM first_stored
        GROUP BY response_id
    ) latest
    WHERE r.id = latest.response_id
)
SELECT g.n,
       coalesce(t.open, false),
       EXISTS (SELECT 1 FROM first_stored f WHERE f.n = g.n),
       (SELECT p.language FROM respondent p WHERE p.key = g.owner)
FROM given g
LEFT JOIN target t ON t.n = g.n
ORDER BY g.n
"""

# A survey's last answer and its response's completion, in one statement inside the unit of
# work's transaction (what follows a completion is counted in the same transaction): the
# answer checked and stored as RECORD_ANSWERS stores one, and only if it was stored, the
# response completed, returning what counting it needs (COMPLETE's columns). $1 response, $2
# question, $3 value (JSON), $4 answered and completed at, $5 answers known, $6 owner.
RECORD_LAST_ANSWER = """
WITH target AS (
    SELECT r.id,
           r.status = 'in_progress' AND (
               $6::varchar IS NULL
               OR r.respondent_id = (SELECT p.id FROM respondent p WHERE p.key = $6)
           ) AS open,
           $5::integer IS NULL OR (
               SELECT count(*) FROM answer a WHERE a.response_id = r.id
           ) = $5 AS current
    FROM response r
    WHERE r.id = $1
),
stored AS (
    INSERT INTO answer (response_id, question, value, answered_at)
    SELECT id, $2, $3::jsonb, $4 FROM target WHERE open AND current
    ON CONFLICT (response_id, question) DO NOTHING
    RETURNING response_id
),
completed AS (
    UPDATE response r SET status = 'completed', completed_at = $4, updated_at = $4
    FROM stored s
    WHERE r.id = s.response_id AND r.status = 'in_progress'
    RETURNING r.channel, r.service_id, r.service_point_id, r.respondent_id, r.started_at,
              r.service_event_id,
              (SELECT v.agency_id FROM public_service v WHERE v.id = r.service_id),
              (SELECT e.delivered_at FROM service_event e WHERE e.id = r.service_event_id)
)
SELECT coalesce((SELECT open FROM target), false),
       EXISTS (SELECT 1 FROM stored),
       (SELECT p.language FROM respondent p WHERE p.key = $6),
       c.*
FROM (SELECT 1) AS one
LEFT JOIN completed c ON true
"""

# What answering needs to know about one response (`core.responses.LIVE_RESPONSE`), for
# asyncpg itself: one round trip with no statement built or compiled.
LIVE_RESPONSE_POSTGRESQL = """
SELECT r.status, r.survey_id,
       r.respondent_id = (SELECT p.id FROM respondent p WHERE p.key = $2),
       (SELECT p.language FROM respondent p WHERE p.key = $2),
       s.id, s.name_kk, s.name_ru, s.name_en, r.service_point_id, a.question, a.value
FROM response r
JOIN public_service s ON s.id = r.service_id
LEFT JOIN answer a ON a.response_id = r.id
WHERE r.id = $1
"""

# Opening an invitation's response, in one statement: the response inserted (nothing when the
# invitation has one already: its unique key), and only then the person's other open survey
# stopped (one at a time), the invitation marked used and the start counted in the funnel.
# Returns the new response's id, or no row. $1..$9: the response's respondent, survey, survey
# version, channel, language, invitation, event, service, office; $10 now; $11..$13 the
# funnel's day, agency and office key.
OPEN_RESPONSE = """
WITH opened AS (
    INSERT INTO response (respondent_id, survey_id, survey_version, channel, language, status,
                          invitation_id, service_event_id, service_id, service_point_id,
                          walk_in, started_at, updated_at)
    VALUES ($1, $2, $3, $4, $5, 'in_progress', $6, $7, $8, $9, false, $10, $10)
    ON CONFLICT DO NOTHING
    RETURNING id
),
stopped AS (
    UPDATE response SET status = 'stopped', updated_at = $10
    WHERE respondent_id = $1 AND status = 'in_progress' AND invitation_id IS DISTINCT FROM $6
      AND EXISTS (SELECT 1 FROM opened)
),
used AS (
    UPDATE invitation SET used_at = $10
    WHERE id = $6 AND EXISTS (SELECT 1 FROM opened)
),
counted AS (
    INSERT INTO funnel_daily (day, agency_id, service_id, service_point_key, served, invited,
                              delivered, started, completed, updated_at)
    SELECT $11, $12, $8, $13, 0, 0, 0, 1, 0, $10 FROM opened
    ON CONFLICT (day, service_id, service_point_key) DO UPDATE
    SET started = funnel_daily.started + 1, updated_at = excluded.updated_at
)
SELECT id FROM opened
"""

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
    """A response just completed, as counting it needs it (COMPLETE's columns)."""

    response_id: int
    completed_at: datetime
    channel: Channel
    service_id: int
    service_point_id: int | None
    respondent_id: int | None
    started_at: datetime
    service_event_id: int | None
    agency_id: int
    delivered_at: datetime | None

    @classmethod
    def of(cls, response_id: int, completed_at: datetime, row: Sequence[Any]) -> Completion:
        """From COMPLETE's returned row (or the same columns of RECORD_LAST_ANSWER)."""
        channel, service_id, office_id, respondent_id, started_at, event_id = row[:6]
        return cls(
            response_id,
            completed_at,
            Channel(channel),
            service_id,
            office_id,
            respondent_id,
            started_at,
            event_id,
            row[6],
            row[7],
        )


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
        unit's transaction (the caller counts the completion in it, then commits). `state`:
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


# Completing: status and times set, and what counting it needs returned (the agency, and
# the event's delivery day, on which the funnel counts the completion), in one statement
# built once.
_SERVICE = cast(Table, PublicService.__table__)
_EVENT = cast(Table, ServiceEvent.__table__)
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
    return recorded, (Completion.of(write.response_id, now, row) if row is not None else None)


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


# The answer path's own connections per process, besides SQLAlchemy's pool: its statements
# go to asyncpg directly, and taking a connection from SQLAlchemy's pool for each cost more
# than the statement itself (docs/performance.md).
ANSWER_PATH_CONNECTIONS = 4


class BatchedAnswers:
    """PostgreSQL through asyncpg, for one engine: answers given in one turn of the event loop
    in one statement; the statements that open no transaction (those answers, the opening
    of a response, the reads) in autocommit, on a few connections of the answer path's own,
    opened on first use. `statement_cache`: False behind PgBouncer in transaction mode."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        statement_cache: bool = True,
        connections: int = ANSWER_PATH_CONNECTIONS,
    ) -> None:
        self.engine = engine
        self.statement_cache = statement_cache
        self.connections = connections
        self._pool: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()
        self._compiled: dict[int, tuple[Executable, Compiled]] = {}
        self._batch: LoopTurnBatcher[AnswerWrite, Recorded] = LoopTurnBatcher(self._send)

    def insert(self, model: type[Base] | Table) -> Any:
        return postgresql.insert(model)

    async def open(self, unit: SessionHolder, opening: Opening) -> int | None:
        if unit.in_transaction():
            return await open_in_transaction(unit.session, opening, postgresql.insert)
        pool = await self._connected()
        # No transaction is open on the connection: the statement commits as it runs.
        response_id: int | None = await pool.fetchval(OPEN_RESPONSE, *opening.arguments())
        return response_id

    async def read(
        self, unit: SessionHolder, statement: Executable, params: Mapping[str, Any]
    ) -> Sequence[Sequence[Any]]:
        if unit.in_transaction():
            return (await unit.session.execute(statement, params)).all()
        sql, arguments = self._driver_form(statement, params)
        return list(await (await self._connected()).fetch(sql, *arguments))

    async def read_live(
        self, unit: SessionHolder, statement: Executable, response_id: int, owner: str
    ) -> Sequence[Sequence[Any]]:
        if unit.in_transaction():
            params = {"response_id": response_id, "owner": owner}
            return (await unit.session.execute(statement, params)).all()
        pool = await self._connected()
        return list(await pool.fetch(LIVE_RESPONSE_POSTGRESQL, response_id, owner))

    async def record_last(
        self, unit: SessionHolder, write: AnswerWrite, state: Executable
    ) -> tuple[Recorded, Completion | None]:
        # In the session's transaction, through SQLAlchemy's connection (which begins it): the
        # completion's counting follows in the same transaction.
        connection = await unit.session.connection()
        arguments = (
            write.response_id,
            write.question,
            json.dumps(write.value),
            write.answered_at,
            write.known,
            write.owner,
        )
        result = await connection.exec_driver_sql(RECORD_LAST_ANSWER, arguments)
        row = result.one()
        recorded = Recorded(bool(row[0]), bool(row[1]), row[2])
        if row[3] is None:
            return recorded, None
        return recorded, Completion.of(write.response_id, write.answered_at, row[3:])

    async def record(self, unit: SessionHolder, write: AnswerWrite, state: Executable) -> Recorded:
        if unit.in_transaction():
            # Inside the unit of work's transaction (it wrote before): the portable statements
            # in it, so that its commit keeps all or nothing.
            return await record_in_transaction(unit.session, write, state)
        return await self._batch.submit(write)

    async def _send(self, writes: list[AnswerWrite]) -> list[Recorded]:
        pool = await self._connected()
        # No transaction is open on the connection: the statement commits as it runs.
        rows = await pool.fetch(RECORD_ANSWERS, *answer_arrays(writes))
        return [Recorded(bool(row[1]), bool(row[2]), row[3]) for row in rows]

    def _driver_form(
        self, statement: Executable, params: Mapping[str, Any]
    ) -> tuple[str, list[Any]]:
        """A Core query as asyncpg takes it: compiled once for this dialect, its values in
        the order of its $n placeholders (the queries read here bind plain values)."""
        known = self._compiled.get(id(statement))
        if known is None:
            known = self._compiled[id(statement)] = (
                statement,  # kept, so that its id is not reused
                cast(ClauseElement, statement).compile(dialect=self.engine.dialect),
            )
        compiled = cast(SQLCompiler, known[1])
        values = compiled.construct_params(dict(params)) or {}
        return compiled.string, [values[name] for name in compiled.positiontup or ()]

    async def _connected(self) -> asyncpg.Pool:
        if self._pool is None:
            async with self._opening:
                if self._pool is None:
                    args, options = self.engine.dialect.create_connect_args(self.engine.url)
                    if not self.statement_cache:
                        options["statement_cache_size"] = 0
                    self._pool = await asyncpg.create_pool(
                        *args,
                        **options,
                        min_size=1,
                        max_size=self.connections,
                        init=_decode_json,
                    )
        return self._pool

    async def close(self) -> None:
        await self._batch.close()
        if self._pool is not None:
            pool, self._pool = self._pool, None
            try:
                await asyncio.wait_for(pool.close(), timeout=5)
            except TimeoutError:
                pool.terminate()


async def _decode_json(connection: asyncpg.Connection) -> None:
    """JSON values come decoded, as on SQLAlchemy's connections; they are sent as JSON text."""
    for name in ("json", "jsonb"):
        await connection.set_type_codec(
            name, schema="pg_catalog", encoder=str, decoder=json.loads, format="text"
        )


def answer_arrays(writes: Sequence[AnswerWrite]) -> tuple[list[Any], ...]:
    """RECORD_ANSWERS's arguments ($1..$6) for these answers, in order."""
    return (
        [w.response_id for w in writes],
        [w.question for w in writes],
        [json.dumps(w.value) for w in writes],
        [w.answered_at for w in writes],
        [w.known for w in writes],
        [w.owner for w in writes],
    )


def writer_for(engine: AsyncEngine, *, statement_cache: bool = True) -> AnswerWriter:
    """The writer for this engine's database and driver: called once, at start-up.
    `statement_cache`: False behind PgBouncer in transaction mode (no named statements)."""
    dialect = engine.dialect
    if dialect.name == "postgresql" and dialect.driver == "asyncpg":
        return BatchedAnswers(engine, statement_cache=statement_cache)
    return PlainAnswers(dialect.name)
