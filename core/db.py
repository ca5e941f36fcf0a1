"""Engine and session factory: one session per unit of work (an update, a request)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


def create_engine(database_url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine; on SQLite, foreign keys on and WAL so readers don't block the writer."""
    if database_url.startswith("sqlite"):
        engine = create_async_engine(database_url, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    # Kept open: a webhook worker serves a couple of hundred updates at once, and overflow
    # connections are closed when returned (a new backend and a new login for the next burst).
    kwargs.setdefault("pool_size", 40)
    kwargs.setdefault("max_overflow", 10)
    # Recycle instead of pre-ping: a ping is one more round trip on every checkout.
    kwargs.setdefault("pool_recycle", 1800)
    return create_async_engine(database_url, **kwargs)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


__all__ = ["Engine", "create_engine", "create_session_factory"]
