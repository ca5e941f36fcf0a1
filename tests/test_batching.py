"""The loop-turn batcher: what is submitted in one turn of the event loop goes in one call,
each caller gets its own item's result, and a failed call fails each of its callers. And the
answer writer it serves, picked from the database once."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import create_async_engine

from core.answer_writers import PlainAnswers, writer_for
from core.batching import LoopTurnBatcher
from core.postgres_answers import BatchedAnswers


def _recording() -> tuple[LoopTurnBatcher[int, int], list[list[int]]]:
    calls: list[list[int]] = []

    async def send(items: list[int]) -> list[int]:
        calls.append(list(items))
        await asyncio.sleep(0)
        return [item * 10 for item in items]

    return LoopTurnBatcher(send), calls


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.integers(), max_size=8), max_size=5))
def test_each_turn_is_one_call_and_each_caller_gets_its_own_result(
    turns: list[list[int]],
) -> None:
    async def run() -> None:
        batcher, calls = _recording()
        for items in turns:
            results = await asyncio.gather(*(batcher.submit(item) for item in items))
            assert results == [item * 10 for item in items]
        assert calls == [items for items in turns if items]

    asyncio.run(run())


async def test_a_lone_caller_waits_no_longer_than_its_turn() -> None:
    batcher, calls = _recording()
    assert await asyncio.wait_for(batcher.submit(4), timeout=0.5) == 40
    assert calls == [[4]]


async def test_items_submitted_while_a_call_runs_go_in_the_next_call() -> None:
    started = asyncio.Event()
    release = asyncio.Event()
    calls: list[list[str]] = []

    async def send(items: list[str]) -> list[str]:
        calls.append(list(items))
        started.set()
        await release.wait()
        return items

    batcher: LoopTurnBatcher[str, str] = LoopTurnBatcher(send)
    first = asyncio.gather(batcher.submit("a"), batcher.submit("b"))
    await started.wait()
    second = asyncio.ensure_future(batcher.submit("c"))
    await asyncio.sleep(0.01)
    release.set()
    assert await first == ["a", "b"]
    assert await second == "c"
    assert calls == [["a", "b"], ["c"]]


async def test_a_failed_call_fails_every_caller_in_it_and_no_other() -> None:
    async def send(items: list[int]) -> list[int]:
        if 0 in items:
            raise ConnectionError("database away")
        return items

    batcher: LoopTurnBatcher[int, int] = LoopTurnBatcher(send)
    results = await asyncio.gather(batcher.submit(1), batcher.submit(0), return_exceptions=True)
    assert [type(result) for result in results] == [ConnectionError, ConnectionError]
    assert await batcher.submit(2) == 2


async def test_a_call_that_answers_for_fewer_items_fails_them() -> None:
    async def send(items: list[int]) -> list[int]:
        return items[:1]

    batcher: LoopTurnBatcher[int, int] = LoopTurnBatcher(send)
    with pytest.raises(RuntimeError):
        await asyncio.gather(batcher.submit(1), batcher.submit(2))


def test_a_batcher_serves_a_new_event_loop() -> None:
    batcher, calls = _recording()
    assert asyncio.run(batcher.submit(1)) == 10
    assert asyncio.run(batcher.submit(2)) == 20
    assert calls == [[1], [2]]


async def test_a_result_whose_caller_stopped_waiting_is_handed_back() -> None:
    started = asyncio.Event()
    release = asyncio.Event()
    handed_back: list[tuple[str, str]] = []

    async def send(items: list[str]) -> list[str]:
        started.set()
        await release.wait()
        return [item.upper() for item in items]

    batcher: LoopTurnBatcher[str, str] = LoopTurnBatcher(
        send, unclaimed=lambda item, result: handed_back.append((item, result))
    )
    kept = asyncio.ensure_future(batcher.submit("kept"))
    given_up = asyncio.ensure_future(batcher.submit("given up"))
    await started.wait()
    given_up.cancel()
    release.set()
    assert await kept == "KEPT"
    await batcher.close()
    assert handed_back == [("given up", "GIVEN UP")]


def test_the_writer_is_picked_from_the_database_once() -> None:
    sqlite = create_async_engine("sqlite+aiosqlite://")
    postgres = create_async_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    assert isinstance(writer_for(sqlite), PlainAnswers)
    assert isinstance(writer_for(postgres), BatchedAnswers)  # nothing connects until used
