"""Anti-gaming: responses that look manufactured are kept and flagged with the reason, and not
counted: flagged at completion they never reach the rollups; flagged later (the rest of a
burst, an analyst) their contribution is taken out again. The exclusions are counted."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, func, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import core.responses
from core.clock import utcnow
from core.integrity import flags, ledger
from core.integrity.flags import Rules, RulesError, load_rules
from core.models import Channel, FunnelDaily, LedgerPending, Response, ResponseStatus
from tests.conftest import LENIENT, Seed
from tests.integrity_helpers import answer_all, complete, open_response, rollup
from tests.integrity_helpers import flags as stored_flags


def rules(**changes: dict[str, object]) -> Rules:
    """The shipped rules with some thresholds changed; the others are out of reach."""
    base = {
        "fast_completion": {"min_seconds": 0},
        "respondent_burst": {"window_minutes": 60, "max_responses": 1000},
        "network_burst": {"window_minutes": 60, "max_responses": 1000},
        "office_top_burst": {
            "window_minutes": 15,
            "max_top_scores": 1000,
            "metric": "satisfaction",
            "top_value": "5",
        },
    }
    for name, values in changes.items():
        base[name] = {**base[name], **values}
    return Rules.model_validate(base)


async def test_the_shipped_rules_load() -> None:
    shipped = load_rules()
    assert shipped.fast_completion.min_seconds > 0
    assert shipped.office_top_burst.metric == "satisfaction"


async def test_implausibly_fast_answers_are_flagged_and_not_counted(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed
) -> None:
    judged = rules(fast_completion={"min_seconds": 20})
    six_seconds = 0.1
    fast = await complete(session_factory, seed, user=1, minutes_taken=six_seconds, rules=judged)
    assert await stored_flags(session_factory) == {fast: {"fast_completion"}}
    assert await rollup(session_factory) == {
        ("flagged", "any"): 1,
        ("flagged", "fast_completion"): 1,
    }

    await complete(session_factory, seed, user=2, minutes_taken=3, overall=4, rules=judged)
    counted = await rollup(session_factory)
    assert counted[("responses", "telegram")] == 1
    assert counted[("satisfaction", "4")] == 1
    assert ("satisfaction", "5") not in counted
    async with session_factory() as session:
        response = await session.get(Response, fast)
        assert response is not None and response.status is ResponseStatus.COMPLETED  # kept
        assert (await ledger.verify(session)).entries == 2  # and in the ledger


async def test_a_respondent_burst_flags_the_whole_run_and_takes_the_earlier_ones_out(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed
) -> None:
    judged = rules(respondent_burst={"max_responses": 2})
    first = await complete(session_factory, seed, user=7, rules=judged)
    second = await complete(session_factory, seed, user=7, rules=judged)
    assert await stored_flags(session_factory) == {}
    assert (await rollup(session_factory))[("satisfaction", "5")] == 2
    other = await complete(session_factory, seed, user=8, overall=4, rules=judged)

    third = await complete(session_factory, seed, user=7, rules=judged)
    assert await stored_flags(session_factory) == {
        first: {"respondent_burst"},
        second: {"respondent_burst"},
        third: {"respondent_burst"},
    }
    counted = await rollup(session_factory)
    # Only the other person's response still counts; the burst is counted as excluded.
    assert counted[("responses", "telegram")] == 1
    assert counted[("satisfaction", "4")] == 1
    assert ("satisfaction", "5") not in counted
    assert counted[("flagged", "any")] == 3
    assert counted[("flagged", "respondent_burst")] == 3
    assert other not in await stored_flags(session_factory)

    fourth = await complete(session_factory, seed, user=7, rules=judged)
    counted = await rollup(session_factory)
    assert counted[("flagged", "any")] == 4
    assert (await stored_flags(session_factory))[fourth] == {"respondent_burst"}


async def test_many_top_scores_at_one_office_in_a_short_window_are_flagged(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed
) -> None:
    judged = rules(office_top_burst={"max_top_scores": 3})
    tops = [
        await complete(session_factory, seed, user=n, walk_in=True, rules=judged) for n in range(3)
    ]
    low = await complete(session_factory, seed, user=50, walk_in=True, overall=3, rules=judged)
    assert await stored_flags(session_factory) == {}
    tops.append(await complete(session_factory, seed, user=3, walk_in=True, rules=judged))
    assert await stored_flags(session_factory) == {r: {"office_top_burst"} for r in tops}
    counted = await rollup(session_factory)
    assert counted[("responses", "telegram")] == 1  # the 3 still counts
    assert counted[("satisfaction", "3")] == 1
    assert ("satisfaction", "5") not in counted
    assert counted[("flagged", "office_top_burst")] == 4
    assert low not in await stored_flags(session_factory)


async def test_an_analyst_flag_takes_a_response_out_once(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed
) -> None:
    response_id = await complete(session_factory, seed, user=1, channel=Channel.WEB)
    await complete(session_factory, seed, user=2, channel=Channel.WEB)
    before = await rollup(session_factory)
    assert before[("responses", "web")] == 2
    async with session_factory() as session:
        assert await flags.flag(session, response_id, flags.ANALYST, "same handwriting") is True
        assert await flags.flag(session, response_id, flags.ANALYST, "again") is False
        assert await flags.flag(session, response_id, flags.NETWORK_BURST, "seen later") is True
        assert await flags.flag(session, 999999, flags.ANALYST) is False
        await session.commit()
    after = await rollup(session_factory)
    assert after[("responses", "web")] == 1
    assert after[("satisfaction", "5")] == before[("satisfaction", "5")] - 1
    # Counted out once ("any"), with each reason.
    assert after[("flagged", "any")] == 1
    assert after[("flagged", "analyst")] == 1
    assert after[("flagged", "network_burst")] == 1
    # Every metric the response added is gone, nothing else moved.
    changed = {key for key in before.keys() | after.keys() if before.get(key) != after.get(key)}
    assert all(
        after.get(key, 0) == before.get(key, 0) - 1 for key in changed if key[0] != "flagged"
    )

    async with session_factory() as session:
        listed = await flags.flagged_responses(session)
        assert [item.response_id for item in listed] == [response_id]
        assert [(f.reason, f.detail) for f in listed[0].reasons] == [
            ("analyst", "same handwriting"),
            ("network_burst", "seen later"),
        ]
        assert listed[0].office == seed.office.code and listed[0].channel == "web"
        assert await flags.flagged_responses(session, reason="fast_completion") == []
        assert len(await flags.flagged_responses(session, office_code=seed.office.code)) == 1


async def test_a_response_flagged_before_it_completes_is_not_counted(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed
) -> None:
    response_id = await open_response(session_factory, seed, user=1)
    async with session_factory() as session:
        assert await flags.flag(session, response_id, flags.ANALYST, "reported by the office")
        await session.commit()
    assert await rollup(session_factory) == {}
    await answer_all(session_factory, seed, response_id)
    await ledger.seal_all(session_factory, LENIENT)
    assert await rollup(session_factory) == {("flagged", "any"): 1, ("flagged", "analyst"): 1}


async def test_a_bad_rules_file_names_itself_and_the_problem(tmp_path: Path) -> None:
    bad = tmp_path / "rules.yaml"
    bad.write_text("fast_completion: {min_seconds: -1}\n")
    with pytest.raises(RulesError, match=r"rules.yaml: .*fast_completion.min_seconds"):
        load_rules(bad)
    bad.write_text("fast_completion: [\n")
    with pytest.raises(RulesError, match="not valid YAML"):
        load_rules(bad)
    with pytest.raises(RulesError, match="cannot read"):
        load_rules(tmp_path / "missing.yaml")


async def test_completion_costs_a_few_statements_not_a_scan(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed
) -> None:
    """The hook adds a fixed number of statements per completion, whatever the history."""
    counts: list[int] = []
    statements: list[str] = []
    engine = session_factory.kw["bind"]

    def listener(*args: object) -> None:
        statements.append(str(args[2]))

    for round_ in range(2):
        for n in range(5 * round_):
            await complete(session_factory, seed, user=1000 + n)
        event.listen(engine.sync_engine, "before_cursor_execute", listener)
        try:
            response_id = await open_response(session_factory, seed, user=2000 + round_)
            await answer_all(session_factory, seed, response_id, until="comment")
            statements.clear()
            await answer_all(session_factory, seed, response_id)
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", listener)
        counts.append(len(statements))
    assert counts[0] == counts[1]
    print("statements for the completing answer:", counts[0], *statements, sep="\n  ")
    async with session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(Response)) == 7


async def test_the_worker_forgets_old_walk_in_passes_and_network_digests(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed
) -> None:
    from core.integrity.retention import forget_old_traces
    from core.models import ResponseSignal, WalkInPass

    old = await complete(session_factory, seed, user=1)
    new = await complete(session_factory, seed, user=2)
    async with session_factory() as session:
        for response_id in (old, new):
            await flags.note_network_address(session, response_id, b"d" * 32)
        await session.execute(
            update(ResponseSignal)
            .where(ResponseSignal.response_id == old)
            .values(completed_at=utcnow() - timedelta(days=31))
        )
        session.add_all(
            [
                WalkInPass(digest=b"a" * 32, day="2020-01-01", count=1),
                WalkInPass(digest=b"b" * 32, day="9999-12-31", count=1),
            ]
        )
        await session.commit()
        assert await forget_old_traces(session, keep_days=30) == (1, 1)
        await session.commit()
        kept = {
            row.response_id: row.address_digest
            for row in await session.scalars(select(ResponseSignal))
        }
        assert kept == {old: None, new: b"d" * 32}
        assert [p.day for p in await session.scalars(select(WalkInPass))] == ["9999-12-31"]


class _Deadlock(Exception):
    sqlstate = "40P01"  # what the PostgreSQL driver reports for a transaction it aborted


async def test_a_completion_aborted_by_a_deadlock_runs_again_and_counts_once(
    session_factory: async_sessionmaker[AsyncSession],
    seed: Seed,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """PostgreSQL breaks a lock cycle by aborting one of the transactions in it. A completion
    aborted so is run again, from the start, and counted once."""
    real = core.responses.queue_completed
    calls = 0

    async def loses_the_first_race(*args: object, **kwargs: object) -> object:
        nonlocal calls
        calls += 1
        found = await real(*args, **kwargs)  # type: ignore[arg-type]
        if calls == 1:  # all of it done, then aborted: the retry must not count it twice
            raise DBAPIError("UPDATE daily_rollup ...", None, _Deadlock("deadlock detected"))
        return found

    monkeypatch.setattr(core.responses, "queue_completed", loses_the_first_race)
    judged = rules()
    response_id = await complete(session_factory, seed, user=1, overall=4, rules=judged)
    assert calls == 2
    counted = await rollup(session_factory)
    assert counted[("responses", "telegram")] == 1
    assert counted[("satisfaction", "4")] == 1
    async with session_factory() as session:
        response = await session.get(Response, response_id)
        assert response is not None and response.status is ResponseStatus.COMPLETED
        chained = await ledger.verify(session)
        assert chained.ok and chained.entries == 1


async def test_concurrent_completions_flagging_one_burst_all_complete_and_count_once(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed, database_url: str
) -> None:
    """Top scores completing at one office at once, past the burst threshold, while three
    servers' keepers count the queue: none fails (no deadlock), and every response is counted
    out exactly once."""
    if not database_url.startswith("postgresql"):
        pytest.skip("the race needs PostgreSQL (SQLite serialises writers itself)")
    judged = rules(office_top_burst={"max_top_scores": 2})
    first = [
        await complete(session_factory, seed, user=n, walk_in=True, rules=judged) for n in range(3)
    ]
    racing = [
        await open_response(session_factory, seed, user=10 + n, walk_in=True) for n in range(12)
    ]
    for response_id in racing:
        await answer_all(session_factory, seed, response_id, until="comment")
    await asyncio.gather(
        *(answer_all(session_factory, seed, response_id) for response_id in racing),
        *(ledger.seal_all(session_factory, judged) for _ in range(3)),  # keepers of three servers
    )
    await ledger.seal_all(session_factory, judged)
    everyone = first + racing
    assert await stored_flags(session_factory) == {r: {"office_top_burst"} for r in everyone}
    counted = await rollup(session_factory)
    assert counted[("flagged", "any")] == len(everyone)
    assert counted[("flagged", "office_top_burst")] == len(everyone)
    assert ("responses", "telegram") not in counted and ("satisfaction", "5") not in counted
    async with session_factory() as session:
        done = await session.scalar(
            select(func.count())
            .select_from(Response)
            .where(Response.status == ResponseStatus.COMPLETED)
        )
    assert done == len(everyone)


async def completed_at(
    sessions: async_sessionmaker[AsyncSession], response_id: int, minutes_ago: float
) -> None:
    """Move a completion (still waiting for the keeper) back in time."""
    when = utcnow() - timedelta(minutes=minutes_ago)
    async with sessions() as session:
        await session.execute(
            update(Response).where(Response.id == response_id).values(completed_at=when)
        )
        await session.execute(
            update(LedgerPending)
            .where(LedgerPending.response_id == response_id)
            .values(completed_at=when)
        )
        await session.commit()


async def waiting_completion(
    sessions: async_sessionmaker[AsyncSession], seed: Seed, user: int, minutes_ago: float
) -> int:
    """A response completed `minutes_ago`, not counted yet (no keeper has run)."""
    response_id = await open_response(sessions, seed, user=user, minutes_taken=minutes_ago + 5)
    await answer_all(sessions, seed, response_id)
    await completed_at(sessions, response_id, minutes_ago)
    return response_id


@pytest.mark.parametrize(("last_minutes_ago", "flagged"), [(2, False), (8, True)])
async def test_the_keeper_judges_each_completion_as_of_its_own_time(
    session_factory: async_sessionmaker[AsyncSession],
    seed: Seed,
    last_minutes_ago: float,
    flagged: bool,
) -> None:
    """Three completions by one person, counted by the keeper in one batch: at most two in
    ten minutes is allowed. 15, 10 and 2 minutes ago: no ten minutes hold three, and the
    first is not judged by the two that came after it. 15, 10 and 8: the last completes a
    burst, which flags the whole run."""
    judged = rules(respondent_burst={"window_minutes": 10, "max_responses": 2})
    run = [
        await waiting_completion(session_factory, seed, 7, minutes_ago)
        for minutes_ago in (15, 10, last_minutes_ago)
    ]
    assert await rollup(session_factory) == {}  # nothing counted before the keeper runs
    assert await ledger.seal_all(session_factory, judged) == 3
    expected = {response_id: {"respondent_burst"} for response_id in run} if flagged else {}
    assert await stored_flags(session_factory) == expected
    counted = await rollup(session_factory)
    assert counted.get(("responses", "telegram"), 0) == (0 if flagged else 3)
    assert counted.get(("flagged", "any"), 0) == (3 if flagged else 0)


async def test_a_flag_on_a_completion_waiting_to_be_counted_keeps_it_out(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed
) -> None:
    """An analyst flags a response in the second between its completion and its counting:
    nothing is taken out of the rollups (nothing was put in); the keeper counts only the
    exclusion. Counting again counts nothing twice."""
    judged = rules()
    waiting = await waiting_completion(session_factory, seed, 1, 0)
    async with session_factory() as session:
        assert await flags.flag(session, waiting, flags.ANALYST, "looked manufactured")
        await session.commit()
    assert await rollup(session_factory) == {}
    assert await ledger.seal_all(session_factory, judged) == 1
    assert await ledger.seal_all(session_factory, judged) == 0
    assert await rollup(session_factory) == {("flagged", "any"): 1, ("flagged", "analyst"): 1}
    async with session_factory() as session:
        funnel_completed = await session.scalar(select(func.sum(FunnelDaily.completed)))
    assert funnel_completed == 1  # it was completed; the funnel counts completions, not votes


async def test_a_flag_raised_while_the_keeper_counts_its_response_waits_and_takes_it_out(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed, database_url: str
) -> None:
    """An analyst flags a response while a keeper's batch is counting it: the flag waits for
    that batch (the chain's lock), then sees it counted and takes out what it added. Without
    the wait it would see the response still queued, and it would stay counted."""
    if not database_url.startswith("postgresql"):
        pytest.skip("the race needs PostgreSQL (SQLite serialises writers itself)")
    judged = rules()
    response_id = await waiting_completion(session_factory, seed, 1, 0)

    async def analyst() -> None:
        async with session_factory() as session:
            assert await flags.flag(session, response_id, flags.ANALYST, "looked manufactured")
            await session.commit()

    async with session_factory() as keeper:
        assert await ledger.seal_queued(keeper, judged) == 1  # counted, not committed yet
        flagging = asyncio.create_task(analyst())
        await asyncio.sleep(0.3)
        assert not flagging.done()
        await keeper.commit()
    await flagging
    assert await rollup(session_factory) == {("flagged", "any"): 1, ("flagged", "analyst"): 1}
