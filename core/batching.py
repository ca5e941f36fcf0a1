"""Work handed in during one turn of the event loop, sent together.

Under load a worker handles a couple of hundred citizens at once, and each of them needs one
round trip (to PostgreSQL for an answer, to Redis for a claim). A `LoopTurnBatcher` collects
what is submitted until the running turn of the loop ends, then makes one call for all of it;
each caller gets its own item's result, or the call's error. Nothing waits longer than the
turn it was submitted in, so a lone caller pays no delay.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


@dataclass
class _Waiting(Generic[Item, Result]):
    item: Item
    done: asyncio.Future[Result] = field(repr=False)


class LoopTurnBatcher(Generic[Item, Result]):
    """`submit(item)` returns `send(items)[i]` for its own item, where `items` are all the
    items submitted in the same turn of the loop, in order. `send` must return one result per
    item; if it raises, every caller of that call gets the error. `unclaimed(item, result)`:
    told of a result whose caller stopped waiting (cancelled), to undo what it was given.
    Bound to the loop it first runs in; one created before a loop exists binds to the first
    that uses it."""

    def __init__(
        self,
        send: Callable[[list[Item]], Awaitable[Sequence[Result]]],
        *,
        unclaimed: Callable[[Item, Result], None] | None = None,
    ) -> None:
        self._send_call = send
        self._unclaimed = unclaimed
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiting: list[_Waiting[Item, Result]] = []
        self._calls: set[asyncio.Task[None]] = set()

    @property
    def due(self) -> bool:
        """Items are waiting for the end of this turn of the loop."""
        return bool(self._waiting)

    async def submit(self, item: Item) -> Result:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            # A new loop (a test, a restart in-process): what waited on the old one is gone.
            self._loop, self._waiting, self._calls = loop, [], set()
        done: asyncio.Future[Result] = loop.create_future()
        if not self._waiting:
            loop.call_soon(self._flush)
        self._waiting.append(_Waiting(item, done))
        return await done

    def _flush(self) -> None:
        waiting, self._waiting = self._waiting, []
        if not waiting or self._loop is None:
            return
        task = self._loop.create_task(self._send(waiting))
        self._calls.add(task)
        task.add_done_callback(self._calls.discard)

    async def _send(self, waiting: list[_Waiting[Item, Result]]) -> None:
        try:
            results = await self._send_call([entry.item for entry in waiting])
            if len(results) != len(waiting):
                raise RuntimeError(f"{len(results)} results for {len(waiting)} items")
        except BaseException as error:
            for entry in waiting:
                if not entry.done.done():
                    entry.done.set_exception(error)
            if not isinstance(error, Exception):
                raise
            return
        for entry, result in zip(waiting, results, strict=True):
            if not entry.done.done():
                entry.done.set_result(result)
            elif self._unclaimed is not None:
                self._unclaimed(entry.item, result)

    async def close(self) -> None:
        """Wait for the calls under way (those of this loop)."""
        self._flush()
        if self._calls:
            await asyncio.gather(*self._calls, return_exceptions=True)
