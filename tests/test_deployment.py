"""What `make run` and docker-compose rely on: the commands exist and work on a fresh database."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from sqlalchemy import func, select

from core.db import create_engine, create_session_factory
from core.models import Agency, AgencyKind, DailyRollup, Response, ResponseStatus
from qanagat.cli import main

ROOT = Path(__file__).parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def qanagat_command_exists(argv: list[str]) -> bool:
    """Walk the click command tree: `qanagat db upgrade` must name a real command."""
    assert argv[0] == "qanagat"
    command = main
    args = argv[1:]
    while args and hasattr(command, "commands") and args[0] in command.commands:  # type: ignore[attr-defined]
        command = command.commands[args.pop(0)]  # type: ignore[attr-defined]
    if hasattr(command, "commands"):
        return False  # stopped at a group: not a runnable command
    result = CliRunner().invoke(command, [*args, "--help"])
    return result.exit_code == 0


def test_compose_has_the_production_services() -> None:
    services = COMPOSE["services"]
    assert {"postgres", "redis", "migrate", "web", "bot", "worker"} <= set(services)
    assert services["bot"]["environment"]["QANAGAT_TELEGRAM_MODE"] == "webhook"
    assert services["migrate"]["restart"] == "no"
    for name in ("web", "bot", "worker"):
        assert services[name]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully"
        )


@pytest.mark.parametrize(
    "service", [name for name, spec in COMPOSE["services"].items() if "build" in spec]
)
def test_every_compose_command_is_a_real_qanagat_command(service: str) -> None:
    command = COMPOSE["services"][service]["command"]
    argv = command if isinstance(command, list) else shlex.split(command)
    assert qanagat_command_exists(list(argv)), argv


def test_compose_environment_names_real_settings() -> None:
    from core.settings import Settings

    known = {f"QANAGAT_{name.upper()}" for name in Settings.model_fields}
    env = COMPOSE["x-qanagat"]["environment"]
    assert set(env) <= known, set(env) - known


def test_readme_documents_every_setting() -> None:
    from core.settings import Settings

    readme = (ROOT / "README.md").read_text()
    missing = [
        f"QANAGAT_{name.upper()}"
        for name in Settings.model_fields
        if f"QANAGAT_{name.upper()}" not in readme
    ]
    assert not missing, f"README.md does not document {missing}"


async def test_fresh_database_migrates_and_takes_the_demo_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'var' / 'fresh.sqlite3'}"
    monkeypatch.setenv("QANAGAT_DATABASE_URL", url)
    from core.migrate import upgrade_async

    await upgrade_async(url)
    from qanagat import demo
    from tests.conftest import LENIENT, SURVEYS

    engine = create_engine(url)
    try:
        async with create_session_factory(engine)() as session:
            summary = await demo.load(
                session, SURVEYS["post_service"], b"s", LENIENT, responses=120
            )
            again = await demo.load(session, SURVEYS["post_service"], b"s", LENIENT, responses=120)
            assert summary == again  # a second load adds nothing
            assert summary.agencies == 33
            kinds = dict(
                (
                    await session.execute(select(Agency.kind, func.count()).group_by(Agency.kind))
                ).all()
            )
            assert kinds == {AgencyKind.CENTRAL: 16, AgencyKind.LOCAL: 17}
            completed = await session.scalar(
                select(func.count()).where(Response.status == ResponseStatus.COMPLETED)
            )
            assert completed == 120
            counted = await session.scalar(
                select(func.sum(DailyRollup.count)).where(DailyRollup.metric == "responses")
            )
            assert counted == 120  # demo responses went through the rollups
            link = await demo.fresh_invitation_link(
                session, SURVEYS["post_service"], "http://127.0.0.1:8080"
            )
            assert link is not None and link.startswith("http://127.0.0.1:8080/s/")
    finally:
        await engine.dispose()
