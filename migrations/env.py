"""Alembic environment: async engines (aiosqlite, asyncpg), batch mode on SQLite.

The URL comes from the `sqlalchemy.url` option (set by `core.migrate.alembic_config`); when it
is missing (the `alembic` CLI with the repository's alembic.ini) it comes from the settings,
i.e. `QANAGAT_DATABASE_URL`. A caller may also hand over an open synchronous connection in
`config.attributes["connection"]` (e.g. from `AsyncConnection.run_sync`); it is then used as is.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Coroutine
from logging.config import fileConfig
from typing import Any

from alembic import context
from sqlalchemy import Connection, engine_from_config, pool
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import async_engine_from_config

from core.models import Base

config = context.config

# Logging setup only for the CLI (an ini file); programmatic runs keep the app's logging.
if config.config_file_name is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def _database_url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from core.settings import Settings

    return Settings().database_url


def _configure(**kwargs: Any) -> None:
    context.configure(
        target_metadata=target_metadata,
        compare_type=True,
        **kwargs,
    )


def run_migrations_offline() -> None:
    """Emit SQL to stdout (`alembic upgrade head --sql`) without connecting."""
    url = make_url(_database_url())
    _configure(
        url=url,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        render_as_batch=url.get_backend_name() == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def do_run_migrations(connection: Connection) -> None:
    _configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations(url: str) -> None:
    section = dict(config.get_section(config.config_ini_section) or {})
    section["sqlalchemy.url"] = url
    connectable = async_engine_from_config(section, prefix="sqlalchemy.", poolclass=pool.NullPool)
    try:
        async with connectable.connect() as connection:
            await connection.run_sync(do_run_migrations)
    finally:
        await connectable.dispose()


def _run_sync_engine(url: str) -> None:
    section = dict(config.get_section(config.config_ini_section) or {})
    section["sqlalchemy.url"] = url
    connectable = engine_from_config(section, prefix="sqlalchemy.", poolclass=pool.NullPool)
    try:
        with connectable.connect() as connection:
            do_run_migrations(connection)
    finally:
        connectable.dispose()


def _run_coroutine(coro: Coroutine[Any, Any, None]) -> None:
    """asyncio.run, also when a loop already runs in this thread (sync call from async code):
    then the migration runs on a fresh loop in a helper thread and this thread waits for it.
    Async callers should prefer `core.migrate.upgrade_async`, which does not block their loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(coro)
        return
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as executor:
        executor.submit(asyncio.run, coro).result()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        do_run_migrations(connection)
        return
    url = _database_url()
    if make_url(url).get_dialect().is_async:
        _run_coroutine(run_async_migrations(url))
    else:
        _run_sync_engine(url)


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
