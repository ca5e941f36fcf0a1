"""The PostgreSQL writer of the answer path (`BatchedAnswers`, through asyncpg), and its
statements: an answer that is not a survey's last joins the answers given in the same turn of
the event loop in one statement, one round trip and one commit for all (`RECORD_ANSWERS`,
through a `LoopTurnBatcher`); a survey opened for an invitation is one statement
(`OPEN_RESPONSE`); a survey's last answer and its completion are one statement of the unit of
work's transaction (`RECORD_LAST_ANSWER`); the reads that open no transaction go on
connections of the answer path's own in autocommit. Each answer is still checked and stored
on its own terms (its response open and its owner's, its count of answers as the caller
decided), and each caller learns what became of its own answer. Inside a unit of work whose
transaction has touched the database it takes the portable statements in it
(`core/answer_writers.py`), so that its commit keeps all or nothing.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from typing import Any, cast

import asyncpg
from sqlalchemy import Table
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine.interfaces import Compiled
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql import ClauseElement, Executable
from sqlalchemy.sql.compiler import SQLCompiler

from core.answer_writers import (
    AnswerWrite,
    Completion,
    Opening,
    Recorded,
    SessionHolder,
    open_in_transaction,
    record_in_transaction,
)
from core.batching import LoopTurnBatcher
from core.models import Base

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
# work's transaction (the completion is queued for counting in the same transaction): the
# answer checked and stored as RECORD_ANSWERS stores one, and only if it was stored, the
# response completed (its id returned, else NULL). $1 response, $2 question, $3 value (JSON),
# $4 answered and completed at, $5 answers known, $6 owner.
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
    RETURNING r.id
)
SELECT coalesce((SELECT open FROM target), false),
       EXISTS (SELECT 1 FROM stored),
       (SELECT p.language FROM respondent p WHERE p.key = $6),
       (SELECT id FROM completed)
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
        # completion's queueing follows in the same transaction.
        connection = await unit.session.connection()
        result = await connection.exec_driver_sql(RECORD_LAST_ANSWER, answer_arguments(write))
        row = result.one()
        recorded = Recorded(bool(row[0]), bool(row[1]), row[2])
        if row[3] is None:
            return recorded, None
        return recorded, Completion(write.response_id, write.answered_at)

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
                        reset=_keep_session,
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


async def _keep_session(connection: asyncpg.Connection) -> None:
    """Nothing to undo when a connection goes back to the pool: the answer path never sets,
    listens, locks or declares anything on it. asyncpg's default would send a reset query
    (advisory unlock, CLOSE ALL, UNLISTEN, RESET ALL) after every statement, a second round
    trip for each. An open transaction is still rolled back by the pool itself."""


async def _decode_json(connection: asyncpg.Connection) -> None:
    """JSON values come decoded, as on SQLAlchemy's connections; they are sent as JSON text."""
    for name in ("json", "jsonb"):
        await connection.set_type_codec(
            name, schema="pg_catalog", encoder=str, decoder=json.loads, format="text"
        )


def answer_arguments(write: AnswerWrite) -> tuple[Any, ...]:
    """One answer as RECORD_LAST_ANSWER takes it ($1..$6): response, question, value as JSON
    text, answered at, answers known, owner."""
    return (
        write.response_id,
        write.question,
        json.dumps(write.value),
        write.answered_at,
        write.known,
        write.owner,
    )


def answer_arrays(writes: Sequence[AnswerWrite]) -> tuple[list[Any], ...]:
    """RECORD_ANSWERS's arguments ($1..$6) for these answers (a batch, never empty), in
    order: each answer's `answer_arguments`, column by column."""
    return tuple(list(column) for column in zip(*map(answer_arguments, writes), strict=True))
