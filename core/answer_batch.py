"""Answers given at the same moment, stored together on PostgreSQL: one statement, one round
trip and one commit for all the answers that arrive in one turn of the event loop.

Under load a webhook worker handles a couple of hundred citizens at once; each answer used to
cost a round trip to the database and a commit (a WAL flush) of its own. Each answer is still
checked and stored on its own terms (its response open and its owner's, its count of answers
as the caller decided), and each caller learns what became of its own answer. The answers of
one call are committed together: should the statement fail, none of them is stored and every
caller gets the error, as it would have alone.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy.ext.asyncio import AsyncEngine

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


@dataclass(frozen=True)
class AnswerWrite:
    """One answer to store: `known` and `owner` as for `ResponseStore.record_answer`."""

    response_id: int
    question: str
    value: Any
    answered_at: datetime
    known: int | None
    owner: str | None


@dataclass
class _Waiting:
    write: AnswerWrite
    done: asyncio.Future[tuple[bool, bool, str | None]] = field(repr=False)


class AnswerBatch:
    """The answers waiting to go to one engine's database, from one event loop."""

    def __init__(self, engine: AsyncEngine, loop: asyncio.AbstractEventLoop) -> None:
        self.engine = engine
        self.loop = loop
        self._waiting: list[_Waiting] = []
        self._calls: set[asyncio.Task[None]] = set()

    async def record(self, write: AnswerWrite) -> tuple[bool, bool, str | None]:
        """(open, stored, language) of this answer, once its call has committed."""
        done: asyncio.Future[tuple[bool, bool, str | None]] = self.loop.create_future()
        if not self._waiting:
            # At the end of this turn of the loop, with every answer that arrived in it.
            self.loop.call_soon(self._send)
        self._waiting.append(_Waiting(write, done))
        return await done

    def _send(self) -> None:
        waiting, self._waiting = self._waiting, []
        task = self.loop.create_task(self._store(waiting))
        self._calls.add(task)
        task.add_done_callback(self._calls.discard)

    async def _store(self, waiting: list[_Waiting]) -> None:
        writes = [entry.write for entry in waiting]
        try:
            rows = await self._execute(writes)
        except BaseException as error:
            for entry in waiting:
                if not entry.done.done():
                    entry.done.set_exception(error)
            if not isinstance(error, Exception):
                raise
            return
        for entry, row in zip(waiting, rows, strict=True):
            if not entry.done.done():
                entry.done.set_result(verdict(row))

    async def _execute(self, writes: list[AnswerWrite]) -> Sequence[Sequence[Any]]:
        async with self.engine.connect() as connection:
            raw = await connection.get_raw_connection()
            driver: Any = raw.driver_connection
            # No transaction is open on the connection: the statement commits as it runs.
            return list(await driver.fetch(RECORD_ANSWERS, *answer_arrays(writes)))


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


def verdict(row: Sequence[Any]) -> tuple[bool, bool, str | None]:
    """(open, stored, language) of one of RECORD_ANSWERS's rows."""
    return bool(row[1]), bool(row[2]), row[3]


_BATCHES: WeakKeyDictionary[AsyncEngine, AnswerBatch] = WeakKeyDictionary()


def answer_batch(engine: AsyncEngine) -> AnswerBatch:
    """The batch of `engine` for the running event loop."""
    loop = asyncio.get_running_loop()
    batch = _BATCHES.get(engine)
    if batch is None or batch.loop is not loop:
        batch = _BATCHES[engine] = AnswerBatch(engine, loop)
    return batch
