"""Migrations: an empty database goes up to head and back down to base, on SQLite and PostgreSQL,
and at head the schema is exactly what core/models.py describes (autogenerate finds nothing)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, ForeignKeyConstraint, Index, UniqueConstraint, inspect, text
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from core.migrate import (
    SCRIPT_LOCATION,
    alembic_config,
    downgrade,
    downgrade_async,
    upgrade,
    upgrade_async,
)
from core.models import Base
from tests import services

HEAD = "0027_counted_by_keeper"
MODEL_TABLES = set(Base.metadata.tables)


@dataclass
class Schema:
    tables: set[str]
    versions: list[str]
    differences: list[Any]
    names: dict[str, dict[str, Any]]


def _names(inspector: Any, table: str) -> dict[str, Any]:
    indexes = {
        ix["name"] for ix in inspector.get_indexes(table) if not ix.get("duplicates_constraint")
    }
    return {
        "pk": inspector.get_pk_constraint(table)["name"],
        "fk": {
            (fk["name"], fk["options"].get("ondelete")) for fk in inspector.get_foreign_keys(table)
        },
        "uq": {uq["name"] for uq in inspector.get_unique_constraints(table)},
        "ix": indexes,
    }


def _expected_names(dialect: Dialect, table: str) -> dict[str, Any]:
    """The names the models give on `dialect` (with its truncation of over-long names)."""

    def final(constraint: Any) -> str:
        return str(dialect.identifier_preparer.format_constraint(constraint)).strip('"')

    model = Base.metadata.tables[table]
    constraints = model.constraints
    return {
        "pk": final(model.primary_key),
        "fk": {(final(c), c.ondelete) for c in constraints if isinstance(c, ForeignKeyConstraint)},
        "uq": {final(c) for c in constraints if isinstance(c, UniqueConstraint)},
        "ix": {final(ix) for ix in model.indexes if isinstance(ix, Index)},
    }


def _inspect(connection: Connection) -> Schema:
    inspector = inspect(connection)
    tables = set(inspector.get_table_names())
    versions: list[str] = []
    if "alembic_version" in tables:
        versions = list(
            connection.execute(text("SELECT version_num FROM alembic_version")).scalars()
        )
    differences: list[Any] = []
    names: dict[str, dict[str, Any]] = {}
    if tables >= MODEL_TABLES:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        differences = list(compare_metadata(context, Base.metadata))
        names = {table: _names(inspector, table) for table in sorted(MODEL_TABLES)}
    return Schema(tables, versions, differences, names)


async def inspect_schema(url: str) -> Schema:
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(_inspect)
    finally:
        await engine.dispose()


async def expected_names(url: str) -> dict[str, dict[str, Any]]:
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        return {table: _expected_names(engine.dialect, table) for table in sorted(MODEL_TABLES)}
    finally:
        await engine.dispose()


async def assert_at_head(url: str) -> None:
    schema = await inspect_schema(url)
    assert schema.tables == MODEL_TABLES | {"alembic_version"}
    assert schema.versions == [HEAD]
    assert schema.differences == []
    assert schema.names == await expected_names(url)


async def assert_empty(url: str) -> None:
    schema = await inspect_schema(url)
    assert schema.tables <= {"alembic_version"}
    assert schema.versions == []


async def round_trip(url: str) -> None:
    """Up, up again (no-op), down to base, and up once more (the downgrade left nothing behind)."""
    await upgrade_async(url)
    await assert_at_head(url)
    await upgrade_async(url)
    await assert_at_head(url)
    await downgrade_async(url)
    await assert_empty(url)
    await upgrade_async(url)
    await assert_at_head(url)
    await downgrade_async(url, "base")
    await assert_empty(url)


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def test_config_is_independent_of_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    url = "postgresql+asyncpg://user:p%40ss%25word@db.example:5432/qanagat"
    config = alembic_config(url)
    assert config.get_main_option("sqlalchemy.url") == url
    assert Path(config.get_main_option("script_location") or "") == SCRIPT_LOCATION
    assert (SCRIPT_LOCATION / "env.py").is_file()
    assert (SCRIPT_LOCATION / "versions" / f"{HEAD}.py").is_file()


async def test_sqlite_round_trip(tmp_path: Path) -> None:
    # The directory does not exist yet: upgrade creates it (a fresh checkout has no var/).
    url = sqlite_url(tmp_path / "missing" / "dir" / "qanagat.sqlite3")
    await round_trip(url)


def test_sqlite_sync_upgrade_and_downgrade(tmp_path: Path) -> None:
    """The plain sync API, no event loop running (the CLI's case)."""
    import asyncio

    url = sqlite_url(tmp_path / "sync.sqlite3")
    upgrade(url)
    asyncio.run(assert_at_head(url))
    downgrade(url)
    asyncio.run(assert_empty(url))


async def test_sync_upgrade_inside_a_running_loop(tmp_path: Path) -> None:
    """A sync call from async code blocks that loop but works (env.py uses a helper thread)."""
    url = sqlite_url(tmp_path / "in_loop.sqlite3")
    upgrade(url)
    await assert_at_head(url)
    downgrade(url)
    await assert_empty(url)


def test_offline_sql_renders(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`alembic upgrade head --sql` works without a database (batch mode on SQLite)."""
    from alembic import command

    for url in (
        sqlite_url(tmp_path / "offline.sqlite3"),
        "postgresql+asyncpg://nobody@127.0.0.1:1/none",
    ):
        command.upgrade(alembic_config(url), "head", sql=True)
        sql = capsys.readouterr().out
        assert "CREATE TABLE daily_rollup" in sql
        assert "INSERT INTO alembic_version" in sql
        assert "CREATE TABLE ledger_entry" in sql
        assert f"version_num='{HEAD}'" in sql  # the last revision moves the version to head
    assert not (tmp_path / "offline.sqlite3").exists()


@pytest.fixture
async def postgres_db() -> AsyncIterator[str]:
    async with services.postgres_database("qanagat_mig") as url:
        yield url


@pytest.mark.postgres
async def test_postgres_round_trip(postgres_db: str) -> None:
    await round_trip(postgres_db)
