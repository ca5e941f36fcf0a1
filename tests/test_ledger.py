"""The ledger: every completed response is chained; `qanagat ledger verify` names the first
entry that no longer matches after an edit, a deletion, an insertion or a reordering; the
export verifies offline, on the file alone, and any change to the file is caught."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import json
import os
import sys
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import delete, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import reporting_day, utcnow
from core.integrity import audit, ledger
from core.integrity.keeper import keep_chain
from core.models import Answer, Channel, LedgerEntry, Response, ResponseStatus, ServicePoint
from tests.conftest import LENIENT, ROOT, Seed
from tests.integrity_helpers import answer_all, complete, open_response

QANAGAT = str(Path(sys.executable).with_name("qanagat"))


async def chain(sessions: async_sessionmaker[AsyncSession]) -> list[LedgerEntry]:
    async with sessions() as session:
        return list(await session.scalars(select(LedgerEntry).order_by(LedgerEntry.seq)))


async def verify(sessions: async_sessionmaker[AsyncSession]) -> ledger.Verification:
    async with sessions() as session:
        return await ledger.verify(session)


async def three_completed(sessions: async_sessionmaker[AsyncSession], seed: Seed) -> list[int]:
    return [
        await complete(sessions, seed, user=1, overall=5),
        await complete(sessions, seed, user=2, overall=2, walk_in=True),
        await complete(sessions, seed, user=3, overall=4, channel=Channel.WEB),
    ]


async def tamper(sessions: async_sessionmaker[AsyncSession], *statements: object) -> None:
    async with sessions() as session:
        for statement in statements:
            await session.execute(statement)  # type: ignore[call-overload]
        await session.commit()


async def test_each_completed_response_is_chained_to_the_one_before(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed
) -> None:
    ids = await three_completed(session_factory, seed)
    entries = await chain(session_factory)
    assert [entry.seq for entry in entries] == [1, 2, 3]
    assert [entry.response_id for entry in entries] == ids
    assert entries[0].prev_hash == audit.GENESIS
    for before, entry in itertools.pairwise(entries):
        assert entry.prev_hash == before.entry_hash
    for entry in entries:
        manual = hashlib.sha256(
            f"{entry.prev_hash}{entry.content_hash}{entry.seq}".encode()
        ).hexdigest()
        assert entry.entry_hash == manual
    result = await verify(session_factory)
    assert result.ok, result.problem
    assert (result.entries, result.head_seq, result.head_hash) == (3, 3, entries[-1].entry_hash)


async def test_the_hashed_content_is_anonymous_and_canonical(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed
) -> None:
    response_id = await complete(session_factory, seed, user=1, overall=5, walk_in=True)
    async with session_factory() as session:
        [content] = (await ledger.contents(session, [response_id])).values()
        response = await session.get(Response, response_id)
        assert response is not None and response.completed_at is not None
    assert content == {
        "survey": "post_service",
        "survey_version": seed.survey.version,
        "service": seed.service.code,
        "office": seed.office.code,
        "channel": "telegram",
        "language": "ru",
        "walk_in": True,
        "completed_day": reporting_day(response.completed_at).isoformat(),
        "answers": content["answers"],
    }
    assert content["answers"]["overall"] == 5
    # No respondent, invitation or time of day: nothing that leads back to a person.
    canonical = audit.canonical_json(content).decode()
    assert "respondent" not in canonical and "invitation" not in canonical
    assert canonical.index('"answers"') < canonical.index('"channel"')  # keys sorted
    [entry] = await chain(session_factory)
    assert entry.content_hash == hashlib.sha256(canonical.encode()).hexdigest()


async def test_verify_names_an_edited_answer(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed
) -> None:
    ids = await three_completed(session_factory, seed)
    await tamper(
        session_factory,
        update(Answer)
        .where(Answer.response_id == ids[1], Answer.question == "overall")
        .values(value=5),
    )
    result = await verify(session_factory)
    assert result.problem == (
        f"entry 2 (response {ids[1]}): the response changed after it was recorded (edited)"
    )
    assert result.entries == 1


async def test_verify_names_an_edited_response_field(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed
) -> None:
    ids = await three_completed(session_factory, seed)
    await tamper(
        session_factory, update(Response).where(Response.id == ids[2]).values(walk_in=True)
    )
    assert (await verify(session_factory)).problem == (
        f"entry 3 (response {ids[2]}): the response changed after it was recorded (edited)"
    )


async def test_verify_names_a_deleted_response(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed
) -> None:
    ids = await three_completed(session_factory, seed)
    await tamper(session_factory, delete(Response).where(Response.id == ids[0]))
    assert (await verify(session_factory)).problem == (
        f"entry 1 (response {ids[0]}): the response no longer exists (deleted)"
    )


async def test_verify_names_a_response_deleted_together_with_its_entry(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed
) -> None:
    ids = await three_completed(session_factory, seed)
    await tamper(
        session_factory,
        delete(LedgerEntry).where(LedgerEntry.response_id == ids[1]),
        delete(Response).where(Response.id == ids[1]),
    )
    assert (await verify(session_factory)).problem == "entry 2 is missing: the chain jumps to 3"


async def test_verify_names_a_response_inserted_behind_the_chains_back(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed
) -> None:
    await three_completed(session_factory, seed)
    async with session_factory() as session:
        forged = Response(
            survey_id="post_service",
            survey_version=seed.survey.version,
            channel=Channel.WEB,
            language="ru",
            status=ResponseStatus.COMPLETED,
            service_id=seed.service.id,
            service_point_id=seed.office.id,
            completed_at=utcnow(),
        )
        session.add(forged)
        await session.commit()
    assert (await verify(session_factory)).problem == (
        f"response {forged.id} is completed but not in the chain (inserted)"
    )


async def test_verify_names_an_entry_inserted_into_the_chain(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed
) -> None:
    """A forged entry slipped in after entry 1, well formed and linked to entry 1: the entry
    after it no longer links."""
    ids = await three_completed(session_factory, seed)
    extra = await complete(session_factory, seed, user=4)
    entries = await chain(session_factory)
    async with session_factory() as session:
        # Take the extra response's own entry out, make room at seq 2 (shift 2..3 up by one,
        # from the top), then forge entry 2 for it.
        await session.execute(delete(LedgerEntry).where(LedgerEntry.response_id == extra))
        for entry in reversed(entries[1:3]):
            await session.execute(
                update(LedgerEntry).where(LedgerEntry.seq == entry.seq).values(seq=entry.seq + 1)
            )
        content = (await ledger.contents(session, [extra]))[extra]
        digest = audit.content_hash(content)
        session.add(
            LedgerEntry(
                seq=2,
                response_id=extra,
                content_hash=digest,
                prev_hash=entries[0].entry_hash,
                entry_hash=audit.entry_hash(entries[0].entry_hash, digest, 2),
                created_at=utcnow(),
            )
        )
        await session.commit()
    assert (await verify(session_factory)).problem == (
        f"entry 3 (response {ids[1]}) does not link to entry 2 (inserted or reordered)"
    )


async def test_verify_names_a_reordered_chain(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed
) -> None:
    ids = await three_completed(session_factory, seed)
    await tamper(
        session_factory,
        update(LedgerEntry).where(LedgerEntry.seq == 2).values(seq=99),
        update(LedgerEntry).where(LedgerEntry.seq == 3).values(seq=2),
        update(LedgerEntry).where(LedgerEntry.seq == 99).values(seq=3),
    )
    assert (await verify(session_factory)).problem == (
        f"entry 2 (response {ids[2]}) does not link to entry 1 (inserted or reordered)"
    )


async def test_a_completed_response_waits_in_the_queue_until_the_keeper_chains_it(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed
) -> None:
    first = await complete(session_factory, seed, user=20)
    waiting = await open_response(session_factory, seed, user=21)
    await answer_all(session_factory, seed, waiting)
    queued = await verify(session_factory)
    assert queued.ok, queued.problem  # waiting is not "inserted behind the chain's back"
    assert (queued.entries, queued.queued) == (1, 1)
    async with session_factory() as session:
        assert await ledger.seal_queued(session, LENIENT) == 1
        await session.commit()
    assert [entry.response_id for entry in await chain(session_factory)] == [first, waiting]
    sealed = await verify(session_factory)
    assert sealed.ok and (sealed.entries, sealed.queued) == (2, 0)
    assert await ledger.seal_all(session_factory, LENIENT) == 0  # nothing chained twice


async def test_the_keeper_chains_completions_as_they_come(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed
) -> None:
    keeper = asyncio.create_task(keep_chain(session_factory, LENIENT, interval_s=0.05))
    try:
        ids = []
        for user in (30, 31):
            response_id = await open_response(session_factory, seed, user=user)
            await answer_all(session_factory, seed, response_id)
            ids.append(response_id)
        for _ in range(200):
            if len(await chain(session_factory)) == len(ids):
                break
            await asyncio.sleep(0.05)
    finally:
        keeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await keeper
    assert [entry.response_id for entry in await chain(session_factory)] == ids
    assert (await verify(session_factory)).ok


async def test_a_queued_response_deleted_before_it_is_chained_leaves_the_chain_whole(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed
) -> None:
    kept = await open_response(session_factory, seed, user=40)
    gone = await open_response(session_factory, seed, user=41)
    for response_id in (kept, gone):
        await answer_all(session_factory, seed, response_id)
    await tamper(session_factory, delete(Response).where(Response.id == gone))
    assert await ledger.seal_all(session_factory, LENIENT) == 1
    assert [entry.response_id for entry in await chain(session_factory)] == [kept]
    result = await verify(session_factory)
    assert result.ok and result.queued == 0


async def test_an_unfinished_response_is_not_in_the_chain(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed
) -> None:
    await open_response(session_factory, seed, user=9)
    finished = await complete(session_factory, seed, user=10)
    assert [entry.response_id for entry in await chain(session_factory)] == [finished]
    assert (await verify(session_factory)).ok


# The command line and the auditor's export ----------------------------------------------------


async def qanagat(database_url: str, *args: str, cwd: Path) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        QANAGAT,
        *args,
        cwd=cwd,
        env={**os.environ, "QANAGAT_DATABASE_URL": database_url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    assert process.returncode is not None
    return process.returncode, output.decode()


def export_lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


async def test_ledger_verify_command_exits_1_and_names_the_entry(
    session_factory: async_sessionmaker[AsyncSession],
    seed: Seed,
    database_url: str,
    tmp_path: Path,
) -> None:
    ids = await three_completed(session_factory, seed)
    status, output = await qanagat(database_url, "ledger", "verify", cwd=tmp_path)
    assert (status, output.splitlines()[-1].split(" head ")[0]) == (0, "ok: 3 entries,")
    await tamper(
        session_factory,
        update(Answer)
        .where(Answer.response_id == ids[0], Answer.question == "staff")
        .values(value=1),
    )
    status, output = await qanagat(database_url, "ledger", "verify", cwd=tmp_path)
    assert status == 1
    assert f"entry 1 (response {ids[0]})" in output and "edited" in output
    status, output = await qanagat(
        database_url, "ledger", "export", "--period", "2025", cwd=tmp_path
    )
    assert status == 1 and "nothing exported" in output
    assert not [path.name for path in os.scandir(tmp_path) if path.name.startswith("ledger-")]


async def test_export_verifies_offline_and_catches_any_change_to_the_file(
    session_factory: async_sessionmaker[AsyncSession],
    seed: Seed,
    database_url: str,
    tmp_path: Path,
) -> None:
    await three_completed(session_factory, seed)
    year = str(reporting_day(utcnow()).year)
    status, output = await qanagat(database_url, "ledger", "export", "--period", year, cwd=tmp_path)
    assert status == 0, output
    export = tmp_path / f"ledger-{year}.jsonl"
    head = json.loads((tmp_path / f"ledger-{year}.head.json").read_text())
    lines = export_lines(export)
    assert [line["seq"] for line in lines] == [1, 2, 3]
    assert head["entries"] == 3 and head["head_hash"] == lines[-1]["entry_hash"]
    assert head["chain_head"] == {"seq": 3, "entry_hash": lines[-1]["entry_hash"]}

    # Offline: a database URL that leads nowhere proves no database is used.
    nowhere = "postgresql+asyncpg://nobody@127.0.0.1:1/none"
    status, output = await qanagat(nowhere, "ledger", "verify", "--file", str(export), cwd=tmp_path)
    assert status == 0, output
    assert "ok: 3 entries (1..3)" in output

    # The auditor's own copy of the verifier: one file, standard library only.
    copy = tmp_path / "audit.py"
    copy.write_text((ROOT / "core" / "integrity" / "audit.py").read_text())
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-I", str(copy), str(export), stdout=asyncio.subprocess.PIPE
    )
    out, _ = await process.communicate()
    assert process.returncode == 0, out

    # And the few lines of Python docs/ledger.md gives auditors.
    recipe = (ROOT / "docs" / "ledger.md").read_text().split("```python\n")[1].split("```")[0]
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-I", "-c", recipe, str(export), stdout=asyncio.subprocess.PIPE
    )
    out, _ = await process.communicate()
    assert process.returncode == 0 and out.decode().strip() == f"ok, head {head['head_hash']}"

    original = export_lines(export)
    edited = json.loads(json.dumps(original[1]))
    edited["content"]["answers"]["overall"] = 1
    first, second, third = original
    cases = [
        ([first, edited, third], "line 2: entry 2: the content does not match its hash (edited)"),
        ([first, third], "line 2: entry 2 expected, found 3"),
        ([first, third, second], "line 2: entry 2 expected, found 3"),
        ([first, second], "the head file says 3 entries, found 2"),
    ]
    for lines_now, expected in cases:
        export.write_text(
            "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines_now)
        )
        status, output = await qanagat(
            nowhere, "ledger", "verify", "--file", str(export), cwd=tmp_path
        )
        assert (status, expected in output) == (1, True), (expected, output)


async def test_an_export_of_a_period_holds_only_its_run_of_the_chain(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed, tmp_path: Path
) -> None:
    ids = await three_completed(session_factory, seed)
    # Move the first response into another year: the period's run starts at entry 2.
    async with session_factory() as session:
        await session.execute(
            update(Response)
            .where(Response.id == ids[0])
            .values(completed_at=utcnow().replace(year=2024))
        )
        entry = await session.scalar(select(LedgerEntry).where(LedgerEntry.seq == 1))
        assert entry is not None
        content = (await ledger.contents(session, [ids[0]]))[ids[0]]
        # Re-seal entry 1 as if it had been recorded so (the test is about periods).
        entry.content_hash = audit.content_hash(content)
        entry.entry_hash = audit.entry_hash(audit.GENESIS, entry.content_hash, 1)
        await session.flush()
        for later in (2, 3):
            before = await session.scalar(select(LedgerEntry).where(LedgerEntry.seq == later - 1))
            current = await session.scalar(select(LedgerEntry).where(LedgerEntry.seq == later))
            assert before is not None and current is not None
            current.prev_hash = before.entry_hash
            current.entry_hash = audit.entry_hash(current.prev_hash, current.content_hash, later)
            await session.flush()
        await session.commit()
        target = tmp_path / "period.jsonl"
        with target.open("w") as out:
            head = await ledger.export(
                session, ledger.Period.parse(str(reporting_day(utcnow()).year)), out
            )
    assert [line["seq"] for line in export_lines(target)] == [2, 3]
    assert head["anchor_prev_hash"] == export_lines(target)[0]["prev_hash"]
    audit.head_path(target).write_text(json.dumps(head))
    assert audit.verify_file(target).ok


def test_periods_are_years_months_or_days() -> None:
    assert ledger.Period.parse("2025").first == date(2025, 1, 1)
    assert ledger.Period.parse("2025").last == date(2025, 12, 31)
    assert ledger.Period.parse("2024-02").last == date(2024, 2, 29)
    assert ledger.Period.parse("2025-12").last == date(2025, 12, 31)
    assert ledger.Period.parse("2025-03-08").first == date(2025, 3, 8)
    for bad in ("25", "2025-13", "2025-02-30", "last year", "", "2025-1-1-1"):
        with pytest.raises(ValueError, match="YYYY"):
            ledger.Period.parse(bad)


async def test_concurrent_completions_on_postgresql_make_one_valid_chain(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("the race needs PostgreSQL (SQLite serialises writers itself)")
    count = 16
    async with session_factory() as session:
        # An office each: no rollup row is shared, so nothing but the chain's lock orders them.
        offices = [
            ServicePoint(
                code=f"RACE-{n}",
                agency_id=seed.agency.id,
                name_kk=f"Office {n}",
                name_ru=f"Office {n}",
                name_en=f"Office {n}",
            )
            for n in range(count)
        ]
        session.add_all(offices)
        await session.commit()
    ids = [
        await open_response(session_factory, seed, user=100 + n, walk_in=True, office=office)
        for n, office in enumerate(offices)
    ]
    # Everything answered but the last question; then all the last answers (the completions)
    # at once, each in its own session and transaction.
    for response_id in ids:
        await answer_all(session_factory, seed, response_id, until="comment")
    await asyncio.gather(*(answer_all(session_factory, seed, response_id) for response_id in ids))
    assert await chain(session_factory) == []  # queued: completing takes no chain lock
    # Three keepers at once (three server processes): each response is chained once.
    sealed = await asyncio.gather(*(ledger.seal_all(session_factory, LENIENT) for _ in range(3)))
    assert sum(sealed) == count
    entries = await chain(session_factory)
    assert [entry.seq for entry in entries] == list(range(1, count + 1))
    assert sorted(entry.response_id for entry in entries) == sorted(ids)
    result = await verify(session_factory)
    assert result.ok, result.problem
    async with session_factory() as session:
        assert (
            await session.scalar(text("SELECT count(DISTINCT prev_hash) FROM ledger_entry"))
            == count
        )


@given(
    st.lists(
        st.text(max_size=200)
        | st.builds(
            json.dumps,
            st.dictionaries(
                st.sampled_from(["seq", "content", "content_hash", "prev_hash", "entry_hash"]),
                st.none()
                | st.integers()
                | st.floats()
                | st.text(max_size=70)
                | st.lists(st.integers()),
            ),
        ),
        max_size=5,
    )
)
def test_the_auditors_verifier_reads_any_file_without_failing(lines: list[str]) -> None:
    result = audit.verify_lines(lines, None)
    # Never an exception; garbage never verifies (random hashes cannot match).
    assert result.ok == (not any(line.strip() for line in lines))
    assert result.ok or result.problem


def test_an_infinite_sequence_number_is_unreadable_not_a_crash() -> None:
    line = '{"seq": Infinity, "content": 1, "content_hash": "", "prev_hash": "", "entry_hash": ""}'
    assert audit.verify_lines([line], None).problem == (
        "line 1: unreadable (cannot convert float infinity to integer)"
    )


def test_ledger_verify_file_refuses_a_file_that_is_not_an_export(tmp_path: Path) -> None:
    target = tmp_path / "x.jsonl"
    target.write_text(
        '{"seq": 1, "content": {"a": NaN}, "content_hash": "", "prev_hash": "", "entry_hash": ""}\n'
    )
    assert audit.verify_file(target).problem == "line 1: entry 1: unreadable content or hashes"
    audit.head_path(target).write_text("[1, 2]")
    assert audit.verify_file(target).problem == "x.head.json: not a head record"
