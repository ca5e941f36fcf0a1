"""The ingest benchmark runs end to end on a small load and reports what it promises."""

from __future__ import annotations

import asyncio
import json
import sys

import pytest

from tests import services
from tests.conftest import ROOT


@pytest.mark.postgres
async def test_ingest_benchmark_smoke() -> None:
    url = services.require_postgres_url()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "benchmarks.ingest",
        "--events",
        "1500",
        "--batch",
        "500",
        "--concurrency",
        "2",
        "--signed",
        "--database-url",
        url,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=100)
    text = output.decode(errors="replace")
    assert process.returncode == 0, text[-3000:]
    result = json.loads(text.strip().splitlines()[-1])
    assert result["events_per_s"] > 0
    assert result["created"] == result["stored_events"] == 1500
    assert result["statuses"] == {"201": 3}
    assert (result["lost"], result["duplicates"]) == (0, 0)
    assert result["invitations_ok"] and result["funnel_ok"]
