"""The backup and restore drill of docs/operations.md, as an operator runs it: `pg_dump -Fc` of a
loaded database, `pg_restore` into an empty one, and the restored copy gives the same
`qanagat ledger verify` and the same scores. PostgreSQL only (skipped without it, failing in
CI); each database is a throwaway of this test."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from qanagat.demo_indicators import DEMO_PERIOD
from tests import services

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(600)]
QANAGAT = Path(sys.executable).parent / "qanagat"
SECRET = "backup-drill-secret-0123456789-abcdefghijklmnop"


def libpq(url: str) -> str:
    """The SQLAlchemy URL as pg_dump and pg_restore take it."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def qanagat(database_url: str, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QANAGAT_")}
    env |= {"QANAGAT_DATABASE_URL": database_url, "QANAGAT_SECRET_KEY": SECRET}
    done = subprocess.run(  # noqa: S603
        [str(QANAGAT), *args], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, f"qanagat {' '.join(args)}: {done.stdout}\n{done.stderr}"
    return done.stdout


def tool(name: str, *args: str) -> None:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed (PostgreSQL's client tools)", pytrace=False)
    done = subprocess.run([path, *args], capture_output=True, text=True, timeout=300)  # noqa: S603
    assert done.returncode == 0, f"{name}: {done.stderr}"


def scores(database_url: str, out: Path) -> str:
    qanagat(
        database_url,
        "score",
        "--methodology",
        "proposed-s30",
        "--period",
        DEMO_PERIOD,
        "--out",
        str(out),
    )
    return out.read_text()


async def test_a_restored_dump_verifies_and_scores_the_same(tmp_path: Path) -> None:
    services.require_postgres_url()
    async with (
        services.postgres_database("qanagat_drill_live") as live,
        services.postgres_database("qanagat_drill_restored") as restored,
    ):
        qanagat(live, "db", "upgrade")
        qanagat(live, "demo", "load", "--responses", "400")
        # the export chains what is queued, so the dump holds a chain with every response
        qanagat(
            live, "ledger", "export", "--period", DEMO_PERIOD, "--out", str(tmp_path / "l.jsonl")
        )
        verified = qanagat(live, "ledger", "verify")
        assert verified.startswith("ok: 400 entries"), verified
        scored = scores(live, tmp_path / "live.csv")

        dump = tmp_path / "qanagat.dump"
        tool("pg_dump", "-Fc", "--no-owner", "-f", str(dump), libpq(live))
        tool("pg_restore", "--no-owner", "--exit-on-error", "-d", libpq(restored), str(dump))

        assert qanagat(restored, "ledger", "verify") == verified
        assert scores(restored, tmp_path / "restored.csv") == scored
        # and the restored database is at the newest migration: an upgrade has nothing to do
        qanagat(restored, "db", "upgrade")
