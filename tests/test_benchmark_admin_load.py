"""The page-load benchmarks (the admin's and the public results') on a tiny size: the server and
the load generator run in their own processes, every request is answered, and the last line is
the JSON their issues ask for."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import services

ROOT = Path(__file__).parent.parent


@pytest.mark.postgres
@pytest.mark.timeout(360)  # two fresh processes importing the app: slow on a busy machine
@pytest.mark.parametrize(
    ("benchmark", "people", "extra"),
    [("admin_load", "--users", set()), ("public_load", "--visitors", {"visitors"})],
)
def test_a_page_load_benchmark_runs_small_without_errors(
    benchmark: str, people: str, extra: set[str]
) -> None:
    url = services.require_postgres_url()
    result = subprocess.run(  # noqa: S603 (our own script)
        [
            sys.executable,
            "-m",
            f"benchmarks.{benchmark}",
            "--responses",
            "20000",
            people,
            "3",
            "--seconds",
            "4",
            "--database-url",
            url,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,  # a busy machine takes long to start the two processes
        check=False,
        env={**os.environ},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert (
        set(figures)
        == {
            "responses",
            "requests",
            "p50_ms",
            "p95_ms",
            "errors",
            "server_cpu_ms_per_request",
            "load_average",
        }
        | extra
    )
    assert figures["responses"] == 20000
    assert figures["requests"] > 0 and figures["errors"] == 0
    assert 0 < figures["p50_ms"] <= figures["p95_ms"]
    if Path("/proc/self/stat").exists():
        assert figures["server_cpu_ms_per_request"] > 0
    assert figures["load_average"] >= 0
