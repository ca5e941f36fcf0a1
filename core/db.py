"""Engine and session factory: one session per unit of work (an update, a request)."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session, SessionTransaction


def create_engine(database_url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine; on SQLite, foreign keys on and WAL so readers don't block the writer.
    On PostgreSQL the pool's size comes from the settings (QANAGAT_DATABASE_POOL_SIZE,
    QANAGAT_DATABASE_MAX_OVERFLOW, QANAGAT_DATABASE_BEHIND_PGBOUNCER) unless given."""
    # Errors name the statement, never its values: they may be what a citizen wrote.
    kwargs.setdefault("hide_parameters", True)
    if database_url.startswith("sqlite"):
        engine = create_async_engine(database_url, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    from core.settings import Settings

    settings = Settings()
    # Kept open: a webhook worker serves a couple of hundred updates at once, and overflow
    # connections are closed when returned (a new backend and a new login for the next burst).
    # Every process opens up to pool + overflow: docs/operations.md has the arithmetic.
    kwargs.setdefault("pool_size", settings.database_pool_size)
    kwargs.setdefault("max_overflow", settings.database_max_overflow)
    # Recycle instead of pre-ping: a ping is one more round trip on every checkout.
    kwargs.setdefault("pool_recycle", 1800)
    if settings.database_behind_pgbouncer:
        kwargs["connect_args"] = {**kwargs.get("connect_args", {}), **PGBOUNCER_CONNECT_ARGS}
    return create_async_engine(database_url, **kwargs)


# PgBouncer in transaction mode hands each transaction to any server connection: a statement
# prepared under a name on one is unknown (or another statement) on the next. So no named
# statement is kept: asyncpg's and SQLAlchemy's caches off, every name unique.
PGBOUNCER_CONNECT_ARGS: dict[str, Any] = {
    "statement_cache_size": 0,
    "prepared_statement_cache_size": 0,
    "prepared_statement_name_func": lambda: f"__asyncpg_{uuid4()}__",
}


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


_IN_DATABASE = "qanagat.in_database"  # in `Session.info` while a transaction touched the database


class UnitSession(Session):
    """A session that knows whether it holds a database transaction: the ORM begins its own
    bookkeeping as soon as an object is added, which `in_transaction()` reports, but a
    statement sent elsewhere (in autocommit) must only wait for a transaction that has
    touched the database (`holds_database_transaction`)."""


@event.listens_for(UnitSession, "after_begin")
def _began(session: Session, _transaction: SessionTransaction, _connection: Connection) -> None:
    session.info[_IN_DATABASE] = True


@event.listens_for(UnitSession, "after_transaction_end")
def _ended(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_IN_DATABASE, None)


def holds_database_transaction(session: AsyncSession) -> bool:
    """A transaction of this session has read or written in the database and is not over.
    Sessions not made here are asked the ORM's question (never wrongly False)."""
    if isinstance(session.sync_session, UnitSession):
        return bool(session.info.get(_IN_DATABASE))
    return session.in_transaction()


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, sync_session_class=UnitSession)


__all__ = [
    "Engine",
    "UnitSession",
    "create_engine",
    "create_session_factory",
    "holds_database_transaction",
]
