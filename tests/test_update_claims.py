"""Claiming Telegram updates: each handled once, one at a time per person, a failed one
handled again when Telegram delivers it again. Redis when the test run has one (one round
trip to claim), memory otherwise."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from bot.telegram.middlewares import UpdateClaims


@pytest.fixture
async def claims(redis_url: str | None) -> AsyncIterator[UpdateClaims]:
    if redis_url is None:
        yield UpdateClaims(None)
        return
    client = Redis.from_url(redis_url)
    yield UpdateClaims(client, wait_s=0.3)
    await client.aclose()


async def test_the_same_update_twice_is_handled_once(claims: UpdateClaims) -> None:
    handled: list[str] = []

    async def handle() -> str:
        handled.append("x")
        return "done"

    assert await claims.run("1:100", 7, handle) == "done"
    assert await claims.run("1:100", 7, handle) is None
    assert await claims.run("1:101", None, handle) == "done"
    assert await claims.run("1:101", None, handle) is None
    assert handled == ["x", "x"]


async def test_a_failed_update_is_handled_when_delivered_again(claims: UpdateClaims) -> None:
    async def fail() -> None:
        raise RuntimeError("database away")

    async def handle() -> str:
        return "done"

    with pytest.raises(RuntimeError):
        await claims.run("1:200", 7, fail)
    assert await claims.run("1:200", 7, handle) == "done"


async def test_one_update_at_a_time_per_person(claims: UpdateClaims) -> None:
    events: list[str] = []

    def handler(name: str, pause: float):  # type: ignore[no-untyped-def]
        async def handle() -> None:
            events.append(f"{name} begins")
            await asyncio.sleep(pause)
            events.append(f"{name} ends")

        return handle

    await asyncio.gather(
        claims.run("1:300", 7, handler("first", 0.05)),
        claims.run("1:301", 7, handler("second", 0.0)),
    )
    # Whichever came first, the other began only after it ended.
    assert [e.split()[1] for e in events] == ["begins", "ends", "begins", "ends"]
    assert events[0].split()[0] == events[1].split()[0]
    events.clear()
    await asyncio.gather(
        claims.run("1:302", 7, handler("mine", 0.05)),
        claims.run("1:303", 8, handler("theirs", 0.0)),
    )
    assert events.index("theirs ends") < events.index("mine ends")  # others don't wait


async def test_updates_arriving_together_are_each_handled_once(claims: UpdateClaims) -> None:
    handled: list[str] = []

    def handler(key: str):  # type: ignore[no-untyped-def]
        async def handle() -> str:
            handled.append(key)
            await asyncio.sleep(0.01)
            return key

        return handle

    # Forty people at once, each update delivered twice, and one person tapping three times.
    results = await asyncio.gather(
        *(claims.run(f"2:{n}", 1000 + n, handler(f"2:{n}")) for n in range(40)),
        *(claims.run(f"2:{n}", 1000 + n, handler(f"2:{n}")) for n in range(40)),
        *(claims.run(f"3:{n}", 77, handler(f"3:{n}")) for n in range(3)),
    )
    assert sorted(handled) == sorted({*(f"2:{n}" for n in range(40)), "3:0", "3:1", "3:2"})
    assert sorted(r for r in results if r is not None) == sorted(handled)


async def test_a_lock_left_by_a_crashed_worker_delays_but_does_not_block(
    claims: UpdateClaims, redis_url: str | None
) -> None:
    if redis_url is None:
        pytest.skip("a crashed worker's lock lives in Redis")
    assert claims.redis is not None
    await claims.redis.set("qanagat:lock:9", "1:0", px=60_000)

    async def handle() -> str:
        return "done"

    assert await asyncio.wait_for(claims.run("1:400", 9, handle), timeout=5) == "done"
    assert await claims.run("1:400", 9, handle) is None
    assert await claims.redis.get("qanagat:lock:9") == b"1:0"  # not ours to delete


async def test_a_finished_update_lets_go_of_the_person_soon_without_another_claim(
    redis_url: str | None,
) -> None:
    if redis_url is None:
        pytest.skip("the lock lives in Redis")
    client = Redis.from_url(redis_url)
    claims = UpdateClaims(client, release_after_s=0.05)
    await client.delete("qanagat:lock:11", "qanagat:update:1:500")

    async def handle() -> str:
        return "done"

    async def fail() -> None:
        raise RuntimeError("database away")

    try:
        assert await claims.run("1:500", 11, handle) == "done"
        # Letting go waits for the next claim to ride along, but not for long.
        assert await client.get("qanagat:lock:11") == b"qanagat:update:1:500"
        await asyncio.sleep(0.3)
        assert await client.get("qanagat:lock:11") is None
        assert await client.exists("qanagat:update:1:500") == 1  # still handled once

        with pytest.raises(RuntimeError):
            await claims.run("1:501", 11, fail)
        await claims.close()  # shutting down lets go at once
        assert await client.get("qanagat:lock:11") is None
        assert await client.exists("qanagat:update:1:501") == 0  # may be delivered again
    finally:
        await client.aclose()
