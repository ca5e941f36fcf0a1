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


async def dead_worker_holds(redis_url: str, update_key: str, person: int) -> None:
    """A worker claims an update and dies (kill -9) while handling it: nothing is let go,
    nothing renewed; its Redis connection just goes away."""
    client = Redis.from_url(redis_url)
    dying = UpdateClaims(client, lock_ttl_ms=600)
    started = asyncio.Event()

    async def handle() -> None:
        started.set()
        await asyncio.Event().wait()  # never ends: the process is gone

    task = asyncio.create_task(dying.run(update_key, person, handle))
    await started.wait()
    # Gone without a word: no release, no renewal, the connection dropped.
    dying._release = lambda _release: None  # type: ignore[method-assign]
    dying.renew = _never_renew  # type: ignore[method-assign]
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await client.aclose()


async def _never_renew(_held: tuple[str, ...]) -> None:
    return None


async def test_an_update_in_flight_on_a_dead_worker_is_handled_when_delivered_again(
    redis_url: str | None,
) -> None:
    if redis_url is None:
        pytest.skip("a dead worker's claims live in Redis")
    await dead_worker_holds(redis_url, "1:600", 21)
    client = Redis.from_url(redis_url)
    claims = UpdateClaims(client, lock_ttl_ms=600)

    async def handle() -> str:
        return "done"

    try:
        # Telegram delivers it again (its webhook call got no answer): the tap takes effect,
        # once the dead worker's claim has run out, well before the person lock's wait.
        loop = asyncio.get_running_loop()
        began = loop.time()
        assert await asyncio.wait_for(claims.run("1:600", 21, handle), timeout=5) == "done"
        assert loop.time() - began < 2
        assert await claims.run("1:600", 21, handle) is None  # handled now: once
    finally:
        await claims.close()
        await client.aclose()


async def test_a_dead_workers_hold_on_a_person_lasts_no_longer_than_the_work_in_flight(
    redis_url: str | None,
) -> None:
    if redis_url is None:
        pytest.skip("a dead worker's claims live in Redis")
    await dead_worker_holds(redis_url, "1:700", 22)
    client = Redis.from_url(redis_url)
    claims = UpdateClaims(client, lock_ttl_ms=600, wait_s=10)

    async def handle() -> str:
        return "next"

    try:
        loop = asyncio.get_running_loop()
        began = loop.time()
        assert await claims.run("1:701", 22, handle) == "next"
        assert loop.time() - began < 2  # not the 10 s of waiting for a lock
    finally:
        await claims.close()
        await client.aclose()


async def test_a_living_workers_long_update_keeps_its_person_past_the_locks_ttl(
    redis_url: str | None,
) -> None:
    if redis_url is None:
        pytest.skip("the lock lives in Redis")
    client = Redis.from_url(redis_url)
    first, second = UpdateClaims(client, lock_ttl_ms=300), UpdateClaims(client, lock_ttl_ms=300)
    events: list[str] = []

    async def slow() -> None:
        events.append("slow begins")
        await asyncio.sleep(1.0)  # over three lock TTLs: renewed meanwhile
        events.append("slow ends")

    async def quick() -> None:
        events.append("quick")

    async def later() -> None:
        await asyncio.sleep(0.1)
        await second.run("1:801", 23, quick)

    try:
        await asyncio.gather(first.run("1:800", 23, slow), later())
        assert events == ["slow begins", "slow ends", "quick"]
    finally:
        await first.close()
        await second.close()
        await client.aclose()


async def test_a_redelivery_racing_the_first_delivery_is_handled_once(
    claims: UpdateClaims,
) -> None:
    handled: list[int] = []

    async def handle() -> str:
        handled.append(1)
        await asyncio.sleep(0.05)
        return "done"

    async def fail() -> None:
        await asyncio.sleep(0.05)
        raise RuntimeError("database away")

    results = await asyncio.gather(*(claims.run("1:900", 24, handle) for _ in range(3)))
    assert handled == [1] and sorted(map(str, results)) == ["None", "None", "done"]
    # The first delivery fails while a second waits: the second is handled, not dropped.
    outcome = await asyncio.gather(
        claims.run("1:901", 25, fail), claims.run("1:901", 25, handle), return_exceptions=True
    )
    assert isinstance(outcome[0], RuntimeError) and outcome[1] == "done"
