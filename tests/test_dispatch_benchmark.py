"""The dispatch benchmark runs end to end on a few invitations and prints its JSON last."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests import services

ROOT = Path(__file__).parent.parent


@pytest.mark.postgres
@pytest.mark.timeout(300)
def test_the_dispatch_benchmark_reports_rate_losses_and_duplicates() -> None:
    url = services.require_postgres_url()
    run = subprocess.run(  # noqa: S603 (our own script)
        [sys.executable, "-m", "benchmarks.dispatch", "--invitations", "40", "--database-url", url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=290,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    figures = json.loads(run.stdout.strip().splitlines()[-1])
    assert set(figures) == {"sent_per_s", "limit_per_s", "ratio", "lost", "duplicates"}
    report = run.stdout  # the readable lines say what went wrong (429s, the worker's log)
    assert figures["limit_per_s"] == 30, report
    assert figures["lost"] == 0, report
    assert figures["duplicates"] == 0, report
    assert 0 < figures["ratio"] <= 1.05, report
