"""Survey comments are stored scrubbed of personal data, so the ledger hashes (and its export
carries) the scrubbed text; answers stored raw before are scrubbed once, after the schema
migration, and the ledger re-chained with a record that lets an auditor see why hashes
changed and check it against an export made before."""

from __future__ import annotations

import io
import json

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.engine.conversation import Conversation
from bot.engine.flow import Ask, Completed
from bot.opening import UnitAnswers
from core.clock import reporting_day, utcnow
from core.integrity import ledger
from core.integrity.audit import content_hash
from core.integrity.rechain import scrub_and_rechain
from core.models import Answer, LedgerRechain
from core.unit_of_work import UnitOfWork
from scoring.privacy import scrub
from tests.conftest import LENIENT, Seed
from tests.integrity_helpers import answer_all, open_response

RAW = "Спасибо! Звоните 8 701 234 56 78, мой ИИН 900101300123, карта 4400 4301 2345 6789"


async def comment_of(sessions: async_sessionmaker[AsyncSession], response_id: int) -> object:
    async with sessions() as session:
        return await session.scalar(
            select(Answer.value).where(
                Answer.response_id == response_id, Answer.question == "comment"
            )
        )


async def test_a_comment_is_stored_scrubbed_and_the_ledger_hashes_that(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed
) -> None:
    response_id = await open_response(session_factory, seed, user=1)
    async with session_factory() as session:
        conversation = await Conversation.resume(
            seed.survey, UnitAnswers(UnitOfWork(session)), response_id
        )
        step = conversation.current()
        while isinstance(step, Ask):
            name = step.question.name
            value = {"overall": "5", "received_via": "egov", "comment": RAW}.get(name)
            if value is None:
                value = "4" if step.question.type.value == "rating" else "no"
            step = await conversation.answer(name, value)
        assert isinstance(step, Completed)
    await ledger.seal_all(session_factory, LENIENT)
    stored = await comment_of(session_factory, response_id)
    assert stored == scrub(RAW)
    assert isinstance(stored, str)
    for kept_raw in ("701 234 56 78", "900101300123", "4400 4301 2345 6789"):
        assert kept_raw not in stored
    async with session_factory() as session:
        assert (await ledger.verify(session)).ok
        [content] = (await ledger.contents(session, [response_id])).values()
    assert content["answers"]["comment"] == scrub(RAW)


async def test_comments_stored_raw_before_are_scrubbed_and_the_ledger_rechained_on_record(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed
) -> None:
    # Responses as they were stored before: the comment raw, and chained raw.
    ids = [await open_response(session_factory, seed, user=n) for n in (1, 2, 3)]
    for response_id in ids:
        await answer_all(session_factory, seed, response_id)
    async with session_factory() as session:
        await session.execute(
            update(Answer)
            .where(Answer.response_id.in_(ids[:2]), Answer.question == "comment")
            .values(value=RAW)
        )
        await session.commit()
    await ledger.seal_all(session_factory, LENIENT)
    period = ledger.Period.parse(reporting_day(utcnow()).isoformat())
    before = io.StringIO()
    async with session_factory() as session:
        assert (await ledger.verify(session)).ok
        old_head = await ledger.export(session, period, before)

    assert await scrub_and_rechain(session_factory) == (2, 2)

    assert await comment_of(session_factory, ids[0]) == scrub(RAW)
    async with session_factory() as session:
        check = await ledger.verify(session)
        assert check.ok, check.problem  # `qanagat ledger verify` passes
        [record] = list(await session.scalars(select(LedgerRechain)))
        after = io.StringIO()
        new_head = await ledger.export(session, period, after)
    assert record.old_head_hash == old_head["head_hash"] != new_head["head_hash"]
    assert "scrubbed of personal data" in record.reason
    # The auditor with the old export: scrubbing its comments gives the recorded new hashes.
    changed = {seq: (old, new) for seq, old, new in record.changes}
    for line in before.getvalue().splitlines():
        entry = json.loads(line)
        if entry["seq"] not in changed:
            continue
        old, new = changed[entry["seq"]]
        assert entry["content_hash"] == old
        answers = entry["content"]["answers"]
        scrubbed = {k: scrub(v) if isinstance(v, str) else v for k, v in answers.items()}
        content = {**entry["content"], "answers": scrubbed}
        assert content_hash(content) == new
    assert new_head["rechains"][0]["old_head_hash"] == old_head["head_hash"]
    assert RAW not in after.getvalue()

    # A second run finds nothing; a forged record is caught.
    assert await scrub_and_rechain(session_factory) == (0, 0)
    async with session_factory() as session:
        await session.execute(update(LedgerRechain).values(old_head_hash="0" * 64))
        await session.commit()
        forged = await ledger.verify(session)
    assert forged.problem is not None and "re-chain" in forged.problem
