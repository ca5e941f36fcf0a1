"""The scoring benchmark on a tiny size: both paths run, agree to the last digit (the script
fails otherwise) and the last line is the JSON the issue asks for."""

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
def test_scoring_benchmark_runs_small_and_both_paths_agree() -> None:
    url = services.require_postgres_url()
    result = subprocess.run(  # noqa: S603 (our own script)
        [sys.executable, "-m", "benchmarks.scoring", "--responses", "5000", "--database-url", url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
        env={**os.environ},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.strip().splitlines()
    assert "both paths give the same scores, to the last digit" in lines
    figures = json.loads(lines[-1])
    assert set(figures) == {
        *("responses", "rollup_s", "raw_s", "ratio", "rollup_peak_mb", "sensitivity_s")
    }
    assert figures["sensitivity_s"] > 0
    assert figures["responses"] == 5000
    assert figures["rollup_s"] > 0 and figures["raw_s"] > 0 and figures["rollup_peak_mb"] > 0
