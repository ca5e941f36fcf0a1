"""The bot benchmark: survey and echo slices alternate in one closed loop, each pair of
neighbouring slices gives a ratio, and a small run ends with the JSON the issue asks for."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from benchmarks.bot_throughput import pair_ratios, percentile, slice_order
from tests import services

ROOT = Path(__file__).parent.parent


@given(st.integers(min_value=1, max_value=50))
def test_slices_alternate_and_each_pair_turns_the_order_round(pairs: int) -> None:
    order = slice_order(2 * pairs)
    assert order.count("survey") == order.count("echo") == pairs
    for n in range(pairs):
        pair = order[2 * n : 2 * n + 2]
        assert sorted(pair) == ["echo", "survey"]
        assert pair[0] == ("survey" if n % 2 == 0 else "echo")


def test_a_pair_ratio_is_the_survey_rate_over_the_echo_rate_of_the_same_pair() -> None:
    assert pair_ratios([300.0, 200.0], [600.0, 250.0]) == [0.5, 0.8]
    assert math.isnan(pair_ratios([300.0], [0.0])[0])


@given(st.lists(st.floats(min_value=0, max_value=1e6), min_size=1, max_size=200))
def test_percentiles_are_values_seen_and_in_order(values: list[float]) -> None:
    p50, p99 = percentile(values, 50), percentile(values, 99)
    assert p50 in values and p99 in values
    assert min(values) <= p50 <= p99 <= max(values)
    assert percentile(values, 100) == max(values)


@pytest.mark.postgres
@pytest.mark.timeout(300)  # three processes importing aiogram and the app: slow when busy
def test_a_quick_run_alternates_slices_and_prints_the_figures_last(
    redis_url: str | None,
) -> None:
    url = services.require_postgres_url()
    run = subprocess.run(  # noqa: S603 (our own script)
        [
            sys.executable,
            "-m",
            "benchmarks.bot_throughput",
            "--quick",
            "--users",
            "10",
            "--slices",
            "4",
            "--rate",
            "20",
            "--database-url",
            url,
            "--redis-url",
            redis_url or "",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
        env={**os.environ},
    )
    report = run.stdout + run.stderr[-2000:]
    assert run.returncode == 0, report
    figures = json.loads(run.stdout.strip().splitlines()[-1])
    assert figures["slices"] == 4 and len(figures["ratio_pairs"]) == 2, report
    assert figures["survey_answers_per_s"] > 0 and figures["echo_updates_per_s"] > 0, report
    assert figures["ratio"] == pytest.approx(
        figures["survey_answers_per_s"] / figures["echo_updates_per_s"], abs=0.002
    )
    assert 0 < figures["p50_ms"] <= figures["p99_ms"], report
    assert figures["cpu_ms_per_update_survey"] > 0 and figures["cpu_ms_per_update_echo"] > 0
    assert "no anomalies" in report and "ANOMALIES" not in report, report
    slices = [line.split()[2] for line in run.stdout.splitlines() if "  slice " in line]
    assert slices == ["survey", "echo", "echo", "survey"], report
