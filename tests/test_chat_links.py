"""Chat-link codes survive being dictated and typed: case, dashes, spaces and the letters
people mistake for digits do not matter; anything else typed is simply not recognised."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import chat_links
from core.unit_of_work import UnitOfWork

SECRET = b"chat-link-test-secret"
CODES = st.text(alphabet=chat_links.ALPHABET, min_size=8, max_size=8)


@given(CODES)
def test_a_code_as_shown_reads_back_as_itself(code: str) -> None:
    shown = chat_links.display(code)
    assert chat_links.normalise(shown) == code
    assert chat_links.normalise(f" {shown.lower()} ") == code
    assert chat_links.code_hash(SECRET, shown) == chat_links.code_hash(SECRET, code)


def test_letters_read_as_digits() -> None:
    assert chat_links.normalise("QO1L-ab-cd") == "Q011ABCD"


@given(st.text(max_size=40))
def test_any_text_hashes_without_error(text: str) -> None:
    assert len(chat_links.code_hash(SECRET, text)) == 32


async def test_codes_resolve_to_their_respondent_until_replaced(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as session:
        respondent = await UnitOfWork(session).responses.respondent("telegram-user-1")
        first = await chat_links.new_code(session, SECRET, respondent.id)
        assert await chat_links.resolve(session, SECRET, [first.lower(), "NOPE"]) == {
            first.lower(): respondent.id
        }
        second = await chat_links.new_code(session, SECRET, respondent.id)
        assert await chat_links.resolve(session, SECRET, [first, second]) == {second: respondent.id}
        assert await chat_links.resolve(session, b"another secret", [second]) == {}


async def test_the_worker_keeps_the_address_of_a_linked_citizen(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    from datetime import timedelta

    from sqlalchemy import select

    from core.clock import utcnow
    from core.identity import AddressBox
    from core.models import Channel, ChatAddress
    from core.retention import purge_idle_addresses

    box = AddressBox(SECRET)
    async with session_factory() as session:
        store = UnitOfWork(session)
        linked = await store.responses.respondent("linked")
        idle = await store.responses.respondent("idle")
        await store.responses.remember_address(linked, Channel.TELEGRAM, "1", box)
        await store.responses.remember_address(idle, Channel.TELEGRAM, "2", box)
        await chat_links.new_code(session, SECRET, linked.id)
        for address in await session.scalars(select(ChatAddress)):
            address.created_at = utcnow() - timedelta(days=40)
        await session.commit()
        assert await purge_idle_addresses(session, idle_days=30) == 1
        await session.commit()
        left = (await session.scalars(select(ChatAddress))).one()
        assert left.respondent_id == linked.id
