"""The summaries benchmark on a tiny size: it runs, finds the office it made over-represented,
and its last line is the JSON the issue asks for."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent


def test_summaries_benchmark_runs_small() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.summaries", "--complaints", "2000"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.strip().splitlines()
    assert "over-represented (ЦОН-01)" in lines[0]
    figures = json.loads(lines[-1])
    assert set(figures) == {"complaints", "summary_s", "peak_mb", "cpu_s", "frames_mb", "runs"}
    assert figures["complaints"] == 2000 and figures["runs"] == 1
    assert figures["summary_s"] > 0 and figures["cpu_s"] > 0 and figures["peak_mb"] > 0
