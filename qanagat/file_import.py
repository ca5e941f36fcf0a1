"""One shape for the import commands: check the whole file, store it, commit once, with a
progress bar on a terminal (a file with any problem stores nothing)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from core.settings import Settings
from qanagat.progress import progress_bar

Rows = TypeVar("Rows")
Stored = TypeVar("Stored")


async def import_checked(
    settings: Settings,
    name: str,
    check: Callable[[AsyncSession], Awaitable[Rows]],
    store: Callable[[AsyncSession, Rows], Awaitable[Stored]],
) -> Stored:
    """`check` reads and checks the file (raising its file error on any problem), `store`
    writes the rows it returned; both in one unit of work."""
    from core.db import create_engine, create_session_factory

    engine = create_engine(settings.database_url)
    try:
        async with create_session_factory(engine)() as session:
            with progress_bar(f"importing {name}", 3) as advance:
                rows = await check(session)
                advance(1)
                stored = await store(session, rows)
                advance(1)
                await session.commit()
                advance(1)
            return stored
    finally:
        await engine.dispose()
