"""A unit of work opens its session only when a repository needs it, and tells a transaction
that has touched the database from the ORM's own bookkeeping: a statement sent outside it
(in autocommit) must wait only for the first."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.db import holds_database_transaction
from core.models import Respondent
from core.unit_of_work import UnitsOfWork


async def test_a_unit_that_needs_no_repository_opens_no_session(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with UnitsOfWork(session_factory)() as uow:
        assert not uow.in_transaction()
        await uow.commit()
        await uow.rollback()
        assert uow._session is None


async def test_only_a_transaction_that_touched_the_database_counts(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as session, session.begin():
        session.add(Respondent(key="a" * 64, language="kk"))
    async with session_factory() as session:
        respondent = Respondent(key="b" * 64, language="ru")
        session.add(respondent)
        # The ORM began its bookkeeping: the object's insert waits for the commit, yet nothing
        # was read or written in a transaction of the database.
        assert session.in_transaction()
        assert not holds_database_transaction(session)
        await session.execute(select(func.count()).select_from(Respondent))
        assert holds_database_transaction(session)
        await session.commit()
        assert not holds_database_transaction(session)
        await session.execute(select(func.count()).select_from(Respondent))
        await session.rollback()
        assert not holds_database_transaction(session)
    async with session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(Respondent)) == 2


async def test_an_uncommitted_unit_is_rolled_back_when_it_closes(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with UnitsOfWork(session_factory)() as uow:
        await uow.responses.respondent("b" * 64, "ru")
        assert uow.in_transaction()
    async with session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(Respondent)) == 0
