"""Storage of responses, on SQLite here and PostgreSQL in CI: the database refuses what the code
must never do, identity stays out of the answers, rollups follow completions."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.engine.conversation import Conversation
from bot.engine.flow import Ask, Completed
from bot.opening import Refused, SurveyDesk, UnitAnswers
from core.clock import utcnow
from core.identity import AddressBox, respondent_key, token_hash
from core.integrity import ledger
from core.models import (
    Answer,
    Base,
    Channel,
    ChatAddress,
    ComplaintRequest,
    DailyRollup,
    FunnelDaily,
    Invitation,
    Respondent,
    Response,
    ResponseStatus,
)
from core.retention import purge_idle_addresses
from core.unit_of_work import UnitOfWork
from tests.conftest import LENIENT, SURVEYS, Seed

SECRET = b"test-secret"
DESK = SurveyDesk(SURVEYS, "post_service")


async def open_survey(store: UnitOfWork, token: str, user: int = 1) -> Response:
    respondent = await store.responses.respondent(respondent_key(SECRET, "telegram", user))
    opened = await DESK.open_invitation(store, respondent, token, Channel.TELEGRAM, "ru")
    assert isinstance(opened, Response), opened
    return opened


def test_no_identity_columns_in_respondents_responses_or_answers() -> None:
    forbidden = {"user_id", "chat_id", "telegram_id", "phone", "name", "first_name", "username"}
    for table in ("respondent", "response", "answer"):
        columns = {column.name for column in Base.metadata.tables[table].columns}
        assert not columns & forbidden, (table, columns & forbidden)


async def test_tokens_are_stored_only_as_hashes(
    session_factory: async_sessionmaker[AsyncSession], make_invitation
) -> None:
    token = await make_invitation()
    async with session_factory() as session:
        stored = (await session.scalars(select(Invitation))).one()
        assert stored.token_hash == token_hash(token)
        assert token.encode() not in stored.token_hash
        assert len(token) >= 22  # 128 bits of base64url


async def test_a_second_answer_to_one_question_is_refused_by_the_database(
    session_factory: async_sessionmaker[AsyncSession], make_invitation
) -> None:
    token = await make_invitation()
    async with session_factory() as session:
        store = UnitOfWork(session)
        response = await open_survey(store, token)
        assert (await store.responses.record_answer(response.id, "overall", 5)).stored is True
        assert (await store.responses.record_answer(response.id, "overall", 1)).stored is False
        assert await store.responses.load_answers(response.id) == {"overall": 5}


async def test_an_invitation_opens_one_response_and_its_link_continues_it(
    session_factory: async_sessionmaker[AsyncSession], make_invitation
) -> None:
    token = await make_invitation()
    async with session_factory() as session:
        store = UnitOfWork(session)
        first = await open_survey(store, token, user=1)
        again = await open_survey(store, token, user=1)
        assert again.id == first.id  # the same person resumes
        # Resuming undid what the second start began: the response is still open, and the
        # funnel counted one start.
        status = await session.scalar(select(Response.status).where(Response.id == first.id))
        assert status is ResponseStatus.IN_PROGRESS
        assert await session.scalar(select(func.sum(FunnelDaily.started))) == 1
        # The link is the citizen's key: opened on another device (another pseudonym), the
        # same response carries on, now that device's; nothing new is opened or counted.
        elsewhere = await store.responses.respondent(respondent_key(SECRET, "telegram", 2))
        continued = await DESK.open_invitation(store, elsewhere, token, Channel.TELEGRAM, "kk")
        assert isinstance(continued, Response) and continued.id == first.id
        assert continued.respondent_id == elsewhere.id
        assert await session.scalar(select(func.count()).select_from(Response)) == 1
        assert await session.scalar(select(func.sum(FunnelDaily.started))) == 1


async def test_expired_and_unknown_tokens_are_refused(
    session_factory: async_sessionmaker[AsyncSession], make_invitation
) -> None:
    expired = await make_invitation(ttl_hours=1)
    async with session_factory() as session:
        invitation = (await session.scalars(select(Invitation))).one()
        invitation.expires_at = utcnow() - timedelta(minutes=1)
        await session.commit()
        store = UnitOfWork(session)
        respondent = await store.responses.respondent("k")
        for token, reason in (
            (expired, "invitation_expired"),
            ("nope", "invitation_unknown"),
            ("x" * 500, "invitation_unknown"),
            ("", "invitation_unknown"),
        ):
            opened = await DESK.open_invitation(store, respondent, token, Channel.WEB, "kk")
            assert opened == Refused(reason)


async def test_completing_updates_rollups_and_records_the_complaint_request(
    session_factory: async_sessionmaker[AsyncSession], make_invitation, seed: Seed
) -> None:
    token = await make_invitation()
    async with session_factory() as session:
        store = UnitOfWork(session)
        response = await open_survey(store, token)
        conversation = await Conversation.resume(seed.survey, UnitAnswers(store), response.id)
        script = {
            "overall": "1",
            "reasons": ["rudeness"],
            "received_via": "egov",
            "complaint": "yes",
            "comment": None,
        }
        step = conversation.current()
        while isinstance(step, Ask):
            default = "2" if step.question.type.value == "rating" else "no"
            step = await conversation.answer(
                step.question.name, script.get(step.question.name, default)
            )
        assert isinstance(step, Completed) and step.complaint_requested
    await ledger.seal_all(session_factory, LENIENT)  # the chain keeper counts it within a second
    async with session_factory() as session:
        stored = await session.get(Response, response.id)
        assert stored is not None
        assert stored.status is ResponseStatus.COMPLETED and stored.completed_at is not None
        assert await session.scalar(select(func.count()).select_from(ComplaintRequest)) == 1
        rollup = {
            (row.metric, row.value_key): row.count
            for row in await session.scalars(select(DailyRollup))
        }
        assert rollup[("responses", "telegram")] == 1
        assert rollup[("satisfaction", "1")] == 1
        assert rollup[("problem_reason", "rudeness")] == 1
        assert rollup[("deadline_met", "no")] == 1
        assert all(
            row.agency_id == seed.agency.id for row in await session.scalars(select(DailyRollup))
        )


async def test_rollups_add_up_across_responses(
    session_factory: async_sessionmaker[AsyncSession], make_invitation, seed: Seed
) -> None:
    for _ in range(3):
        token = await make_invitation()
        async with session_factory() as session:
            store = UnitOfWork(session)
            response = await open_survey(store, token, user=hash(token) % 10_000)
            conversation = await Conversation.resume(seed.survey, UnitAnswers(store), response.id)
            step = conversation.current()
            while isinstance(step, Ask):
                raw = {"received_via": "egov", "comment": None}.get(step.question.name, "5")
                if step.question.type.value == "yes_no":
                    raw = "yes"
                step = await conversation.answer(step.question.name, raw)
    await ledger.seal_all(session_factory, LENIENT)
    async with session_factory() as session:
        count = await session.scalar(
            select(DailyRollup.count).where(
                DailyRollup.metric == "satisfaction", DailyRollup.value_key == "5"
            )
        )
        assert count == 3


async def test_forget_me_deletes_the_address_and_the_pseudonym_but_keeps_anonymous_answers(
    session_factory: async_sessionmaker[AsyncSession], make_invitation
) -> None:
    token = await make_invitation()
    box = AddressBox(SECRET)
    async with session_factory() as session:
        store = UnitOfWork(session)
        response = await open_survey(store, token)
        respondent = await store.responses.respondent(respondent_key(SECRET, "telegram", 1))
        await store.responses.remember_address(respondent, Channel.TELEGRAM, "123456789", box)
        sealed = (await session.scalars(select(ChatAddress))).one().encrypted_address
        assert b"123456789" not in sealed and box.open(sealed) == "123456789"
        await store.responses.record_answer(response.id, "overall", 4)
        await store.responses.forget(respondent)
        await store.commit()
    async with session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(ChatAddress)) == 0
        assert await session.scalar(select(func.count()).select_from(Respondent)) == 0
        stored = await session.get(Response, response.id)
        assert stored is not None and stored.respondent_id is None
        assert stored.status is ResponseStatus.STOPPED
        assert await session.scalar(select(func.count()).select_from(Answer)) == 1


async def test_worker_purges_idle_addresses_only(
    session_factory: async_sessionmaker[AsyncSession], make_invitation
) -> None:
    box = AddressBox(SECRET)
    async with session_factory() as session:
        store = UnitOfWork(session)
        idle = await store.responses.respondent("idle")
        busy = await store.responses.respondent("busy")
        await store.responses.remember_address(idle, Channel.TELEGRAM, "1", box)
        await store.responses.remember_address(busy, Channel.TELEGRAM, "2", box)
        for address in await session.scalars(select(ChatAddress)):
            address.created_at = utcnow() - timedelta(days=40)
        await session.commit()
        token = await make_invitation()
        respondent = busy
        opened = await DESK.open_invitation(store, respondent, token, Channel.TELEGRAM, "kk")
        assert isinstance(opened, Response)
        assert await purge_idle_addresses(session, idle_days=30) == 1
        await session.commit()
        left = (await session.scalars(select(ChatAddress))).one()
        assert left.respondent_id == busy.id


async def test_timestamps_come_back_aware_in_utc(
    session_factory: async_sessionmaker[AsyncSession], make_invitation
) -> None:
    await make_invitation()
    async with session_factory() as session:
        invitation = (await session.scalars(select(Invitation))).one()
        assert invitation.expires_at.utcoffset() == timedelta(0)
        assert invitation.expires_at > utcnow()
        assert inspect(invitation).persistent


def test_signatures_refuse_forgeries_of_any_text() -> None:
    from hypothesis import given
    from hypothesis import strategies as st

    from core.identity import Signer

    signer = Signer(SECRET, "test")
    assert signer.unsign(signer.sign("42")) == "42"

    @given(st.text(max_size=40))
    def forged(text: str) -> None:
        assert signer.unsign(text) is None or signer.sign(signer.unsign(text) or "") == text

    forged()


async def test_the_write_back_address_is_rewritten_only_when_the_chat_changes(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """A start keeps the chat to write back to; it is read with the respondent (no read of
    its own), left alone when it is the same chat and replaced when another."""
    box = AddressBox(SECRET)
    key = respondent_key(SECRET, "telegram", 5)

    async def kept() -> bytes:
        async with session_factory() as session:
            return (await session.scalars(select(ChatAddress))).one().encrypted_address

    async def remember(address: str, times: int = 1) -> None:
        async with session_factory() as session:
            store = UnitOfWork(session)
            respondent = await store.responses.respondent(key)
            for _ in range(times):
                await store.responses.remember_address(respondent, Channel.TELEGRAM, address, box)
            await store.commit()

    await remember("111", times=2)  # a new person: written once, then known in the same update
    first = await kept()
    assert box.open(first) == "111"
    await remember("111")  # a later update from the same chat: sealed anew would differ
    assert await kept() == first
    await remember("222")
    assert box.open(await kept()) == "222"
