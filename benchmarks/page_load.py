"""What the page-load benchmarks share (the admin's and the public results'): a throwaway
database filled once, the server and the load generator each in a process of their own (so the
load never steals the server's event loop), and the figures of what the generator measured."""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import scoring as scoring_bench

WARM_UP_S = 5.0


async def prepare(
    database_url: str, responses: int, fill: Callable[[str, int], Awaitable[dict[str, Any]]]
) -> tuple[scoring_bench.Database, dict[str, Any]]:
    """A throwaway database on the server of `database_url`, filled by `fill`."""
    database = await scoring_bench.create_database(database_url)
    try:
        return database, await fill(database.url, responses)
    except BaseException:
        await database.drop()
        raise


def measure(
    database: scoring_bench.Database,
    serve: Callable[[str, int], None],
    load: Callable[..., None],
    load_args: tuple[Any, ...],
    seconds: float,
    name: str,
) -> dict[str, Any]:
    """Serve `database` with `serve(url, port)` in one process, run `load(base, *load_args, out,
    server_pid)` in another for `seconds`, and return what it wrote to `out`; the database is
    dropped after."""
    context = multiprocessing.get_context("spawn")
    port = free_port()
    server = context.Process(target=serve, args=(database.url, port), daemon=True)
    server.start()
    try:
        wait_for(port)
        out = Path(tempfile.gettempdir()) / f"{name}_{os.getpid()}.json"
        generator = context.Process(
            target=load, args=(f"http://127.0.0.1:{port}", *load_args, str(out), server.pid)
        )
        generator.start()
        generator.join(seconds + WARM_UP_S + 120)
        if generator.exitcode != 0:
            raise RuntimeError(f"the load generator failed (exit code {generator.exitcode})")
        measured: dict[str, Any] = json.loads(out.read_text())
        out.unlink()
    finally:
        server.terminate()
        server.join(10)
        asyncio.run(database.drop())
    if not measured["latencies"]:
        raise RuntimeError("no request was measured")
    return measured


def run_from_command_line(
    doc: str | None,
    run: Callable[[argparse.Namespace], dict[str, Any]],
    crowd: tuple[str, int],
) -> None:
    """A page-load benchmark's command line: `--responses`, its crowd (`--users`,
    `--visitors`, with its default), `--seconds`, `--database-url`; runs it and prints its
    figures' JSON as the last line."""
    parser = argparse.ArgumentParser(description=(doc or "").split("\n\n")[0])
    parser.add_argument("--responses", type=int, default=10_000_000)
    parser.add_argument(crowd[0], type=int, default=crowd[1])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("QANAGAT_TEST_DATABASE_URL", scoring_bench.DEFAULT_DATABASE_URL),
    )
    print(json.dumps(run(parser.parse_args())))
    sys.stdout.flush()


def latency_figures(measured: dict[str, Any], cpu_decimals: int = 1) -> dict[str, Any]:
    """p50, p95, errors and server CPU per request of a measurement, printed and returned."""
    latencies: list[float] = measured["latencies"]
    print(
        f"latency ms: p50 {statistics.median(latencies):.1f}, "
        f"p95 {percentile(latencies, 0.95):.1f}, max {max(latencies):.1f}"
    )
    cpu = measured.get("server_cpu_s")
    per_request = None if cpu is None else round(1000 * cpu / len(latencies), cpu_decimals)
    print(
        f"server CPU {per_request} ms a request; machine load average "
        f"{measured['load_average']:.1f} at the end (2 cores)"
    )
    return {
        "requests": len(latencies),
        "p50_ms": round(statistics.median(latencies), 1),
        "p95_ms": round(percentile(latencies, 0.95), 1),
        "errors": measured["errors"],
        "server_cpu_ms_per_request": per_request,
        "load_average": round(measured["load_average"], 1),
    }


def cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) a process has used so far, from Linux's /proc (None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(port: int, timeout: float = 120) -> None:  # imports take a while on a busy machine
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the server did not start")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, int(np.ceil(share * len(ordered))) - 1))
    return ordered[index]
