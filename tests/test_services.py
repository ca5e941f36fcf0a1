"""The test-services policy: unset -> skip (fail when required), unreachable -> fail, never skip."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from tests import services


def test_unset_url_skips(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(services.DATABASE_URL_VAR, raising=False)
    monkeypatch.delenv(services.REQUIRE_SERVICES_VAR, raising=False)
    assert services.postgres_url() is None
    assert not services.require_services()
    with pytest.raises(pytest.skip.Exception):
        services.require_postgres_url()


def test_unset_url_fails_when_services_are_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(services.DATABASE_URL_VAR, "")
    monkeypatch.setenv(services.REQUIRE_SERVICES_VAR, "1")
    assert services.require_services()
    with pytest.raises(pytest.fail.Exception, match=services.DATABASE_URL_VAR):
        services.require_postgres_url()


async def test_unreachable_server_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(services.DATABASE_URL_VAR, "postgresql+asyncpg://postgres:pw@127.0.0.1:1/x")
    monkeypatch.delenv(services.REQUIRE_SERVICES_VAR, raising=False)
    with pytest.raises(pytest.fail.Exception, match="unreachable") as failure:
        async with services.postgres_database():
            pass
    assert "pw" not in str(failure.value)


@pytest.mark.postgres
async def test_throwaway_database_is_created_and_dropped() -> None:
    base_url = services.require_postgres_url()
    url, drop = await services.create_database(base_url, "qanagat_svc")
    name = url.rsplit("/", 1)[-1]
    assert name.startswith("qanagat_svc_")
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            assert await connection.scalar(text("SELECT current_database()")) == name
            await connection.commit()
            await drop()  # also with this session still open
    finally:
        await engine.dispose()
    admin = create_async_engine(base_url, poolclass=NullPool)
    try:
        async with admin.connect() as connection:
            exists = await connection.scalar(
                text("SELECT count(*) FROM pg_database WHERE datname = :name"), {"name": name}
            )
    finally:
        await admin.dispose()
    assert exists == 0
