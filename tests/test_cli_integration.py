"""The operator's commands for integrations: API keys (shown once, listed, revoked) and the
sampling rate of a service."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from core.db import create_engine, create_session_factory
from core.migrate import upgrade
from core.models import Agency, AgencyKind, ApiKey, PublicService
from qanagat.cli import main


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}"
    upgrade(url)
    monkeypatch.setenv("QANAGAT_DATABASE_URL", url)
    monkeypatch.setenv("QANAGAT_SECRET_KEY", "cli-test-secret-0123456789")

    async def seed() -> None:
        engine = create_engine(url)
        async with create_session_factory(engine)() as session:
            agency = Agency(
                code="ALA", kind=AgencyKind.LOCAL, name_kk="a", name_ru="a", name_en="a"
            )
            session.add(agency)
            await session.flush()
            session.add(
                PublicService(
                    code="ALA-S1", agency_id=agency.id, name_kk="s", name_ru="s", name_en="s"
                )
            )
            await session.commit()
        await engine.dispose()

    asyncio.run(seed())
    return url


def stored_keys(url: str) -> list[ApiKey]:
    async def read() -> list[ApiKey]:
        engine = create_engine(url)
        async with create_session_factory(engine)() as session:
            keys = list(await session.scalars(select(ApiKey)))
        await engine.dispose()
        return keys

    return asyncio.run(read())


def test_a_key_is_shown_once_listed_without_it_and_revoked(database: str) -> None:
    runner = CliRunner()
    created = runner.invoke(
        main, ["apikeys", "create", "queue-ala", "--agency", "ALA", "--signing-secret"]
    )
    assert created.exit_code == 0, created.output
    key = re.search(r"key:\s+(qk_\S+)", created.output)
    secret = re.search(r"signing secret:\s+(qs_\S+)", created.output)
    assert key and secret

    listed = runner.invoke(main, ["apikeys", "list"])
    assert listed.exit_code == 0
    assert "queue-ala" in listed.output and "ALA" in listed.output
    assert key.group(1) not in listed.output and secret.group(1) not in listed.output

    [stored] = stored_keys(database)
    assert stored.agency_codes == ["ALA"] and stored.revoked_at is None
    revoked = runner.invoke(main, ["apikeys", "revoke", str(stored.id)])
    assert revoked.exit_code == 0
    [stored] = stored_keys(database)
    assert stored.revoked_at is not None


def test_key_creation_needs_a_scope_of_known_agencies(database: str) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["apikeys", "create", "x"]).exit_code != 0
    unknown = runner.invoke(main, ["apikeys", "create", "x", "--agency", "NOPE"])
    assert unknown.exit_code != 0 and "NOPE" in unknown.output
    everything = runner.invoke(main, ["apikeys", "create", "x", "--all-agencies"])
    assert everything.exit_code == 0 and "all agencies" in everything.output
    assert runner.invoke(main, ["apikeys", "revoke", "999"]).exit_code != 0


def test_sampling_rate_of_a_service(database: str) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["services", "sample", "ALA-S1", "5"])
    assert result.exit_code == 0, result.output

    async def read() -> int:
        engine = create_engine(database)
        async with create_session_factory(engine)() as session:
            value = await session.scalar(select(PublicService.invitation_sample_every))
        await engine.dispose()
        return int(value or 0)

    assert asyncio.run(read()) == 5
    assert runner.invoke(main, ["services", "sample", "NOPE", "5"]).exit_code != 0
    assert runner.invoke(main, ["services", "sample", "ALA-S1", "0"]).exit_code != 0
