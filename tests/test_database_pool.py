"""Connections to PostgreSQL: each process's pool is configurable, the compose file's processes
fit the server's connection limit, and the PgBouncer mode keeps no named statement."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from sqlalchemy import text

from core.db import create_engine
from core.postgres_answers import ANSWER_PATH_CONNECTIONS, BatchedAnswers
from core.settings import Settings
from tests import services

ROOT = Path(__file__).parent.parent
PG_URL = "postgresql+asyncpg://qanagat:secret@127.0.0.1:5432/qanagat"
POSTGRES_DEFAULT_MAX_CONNECTIONS = 100


async def test_the_pool_size_comes_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QANAGAT_DATABASE_POOL_SIZE", "7")
    monkeypatch.setenv("QANAGAT_DATABASE_MAX_OVERFLOW", "3")
    engine = create_engine(PG_URL)  # no connection is opened until first use
    try:
        assert engine.pool.size() == 7  # type: ignore[attr-defined]
        assert engine.pool._max_overflow == 3  # type: ignore[attr-defined]
    finally:
        await engine.dispose()


def test_the_compose_processes_fit_postgresql_s_connection_limit() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    postgres = compose["services"]["postgres"]
    command = " ".join(postgres.get("command", []))
    limit = int(m.group(1)) if (m := re.search(r"max_connections=(\d+)", command)) else 100
    defaults = Settings.model_fields
    per_process = defaults["database_pool_size"].default + defaults["database_max_overflow"].default
    long_running = [
        name
        for name, spec in compose["services"].items()
        if spec.get("image", "").startswith("qanagat") and spec.get("restart") != "no"
    ]
    assert {"web", "bot", "worker"} <= set(long_running)
    # the processes that take answers open the answer path's own connections too
    answering = [name for name in long_running if name != "worker"]
    wanted = len(long_running) * per_process + len(answering) * ANSWER_PATH_CONNECTIONS
    # the migration job and an operator's psql or pg_dump need room too
    assert wanted + 10 <= limit - 3, (long_running, per_process, limit)


@pytest.mark.postgres
async def test_behind_pgbouncer_no_statement_is_cached_under_a_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    services.require_postgres_url()
    monkeypatch.setenv("QANAGAT_DATABASE_BEHIND_PGBOUNCER", "true")
    async with services.postgres_database("qanagat_pgbouncer") as url:
        engine = create_engine(url)
        try:
            async with engine.connect() as connection:
                for value in (1, 2, 3):
                    got = await connection.scalar(text("SELECT CAST(:v AS int) + 1"), {"v": value})
                    assert got == value + 1
                raw = await connection.get_raw_connection()
                driver = raw.driver_connection
                assert driver is not None
                # asyncpg's own cache stays empty: the next transaction may be on another server
                assert len(driver._stmt_cache) == 0  # type: ignore[attr-defined]
        finally:
            await engine.dispose()


@pytest.mark.postgres
async def test_behind_pgbouncer_the_answer_path_caches_no_statement_either() -> None:
    services.require_postgres_url()
    async with services.postgres_database("qanagat_pgbouncer_answers") as url:
        engine = create_engine(url)
        writer = BatchedAnswers(engine, statement_cache=False)
        try:
            pool = await writer._connected()
            async with pool.acquire() as driver:
                for value in (1, 2, 3):
                    assert await driver.fetchval("SELECT $1::int + 1", value) == value + 1
                assert len(driver._stmt_cache) == 0  # type: ignore[attr-defined]
        finally:
            await writer.close()
            await engine.dispose()


@pytest.mark.postgres
async def test_the_answer_path_sends_no_reset_query_between_statements() -> None:
    """asyncpg's pool would reset a connection (advisory unlock, CLOSE ALL, UNLISTEN, RESET
    ALL) each time it came back: a second round trip after every batch of answers."""
    services.require_postgres_url()
    async with services.postgres_database("qanagat_answer_reset") as url:
        engine = create_engine(url)
        writer = BatchedAnswers(engine, connections=1)
        try:
            pool = await writer._connected()
            sent: list[str] = []
            async with pool.acquire() as driver:
                driver.add_query_logger(lambda record: sent.append(record.query))
            for value in (1, 2, 3):
                assert await pool.fetchval("SELECT $1::int + 1", value) == value + 1
            assert sent == ["SELECT $1::int + 1"] * 3
        finally:
            await writer.close()
            await engine.dispose()
