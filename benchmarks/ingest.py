"""Ingest throughput: service events through the batch API into PostgreSQL.

Run it from the project root; PostgreSQL must be reachable, nothing leaves 127.0.0.1::

    .venv/bin/python -m benchmarks.ingest                    # 100,000 events, about a minute
    .venv/bin/python -m benchmarks.ingest --events 5000      # smoke test, a few seconds

How it is run:

- A throwaway database ``qanagat_bench_<random>`` is created on the server of
  ``--database-url`` (tables from the models), seeded with one akimat, 10 services and 20
  offices and one API key (all agencies, no signing secret: ``--signed`` adds one, and every
  request is then signed), and dropped at the end.
- The server under test runs in a process of its own: this script started again with
  ``--serve``, building the whole app as ``qanagat serve`` does (``qanagat.app.build_app``,
  without the bot), on asyncio's default loop, without access log, logging at WARNING.
- This (parent) process is the load generator: it builds every request body first (batches of
  ``--batch`` events, 90 % at a service centre, 10 % eGov without an office, each with a fresh
  external id), posts two warm-up batches, then posts the rest in a closed loop with
  ``--concurrency`` requests in flight, each next batch sent as soon as an answer came.
- ``events_per_s`` = events accepted (``created``) / wall time from the first to the last
  answer of the measured batches. Afterwards the database is counted: every event stored once,
  one invitation each (sampling is 1 in 1), the funnel's served count equal to the events.

``--profile DIR`` runs the server under cProfile and writes ``DIR/ingest.prof``; the figures
of such a run are not comparable.

The last line printed is one JSON object: ``{"events_per_s": ..., ...}``; the goal is 5,000.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # also runnable as `python benchmarks/ingest.py`
    sys.path.insert(0, str(ROOT))

from benchmarks.bot_throughput import (  # noqa: E402
    CpuMeter,
    accepts,
    create_database,
    free_port,
    machine_busy,
    shares,
)

SECRET_KEY = "benchmark-secret-key-0123456789-abcdefghijklmnop"
DEFAULT_DATABASE_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
GOAL = 5000
SERVICES = 10
OFFICES = 20
WARMUP_BATCHES = 2


# ------------------------------------------------------------------------------- server


def serve(args: argparse.Namespace) -> None:
    """The server under test, in this process (started by the parent with --serve)."""
    from aiohttp import web

    from core.settings import Settings
    from qanagat.app import build_app, settle_heap

    logging.basicConfig(level=logging.WARNING)
    settings = Settings(
        _env_file=None,
        database_url=args.database_url,
        secret_key=SECRET_KEY,
        public_url="https://qanagat.example.kz",
        port=args.port,
    )
    app = build_app(settings, with_bot=False)
    settle_heap()
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    try:
        web.run_app(
            app,
            host="127.0.0.1",
            port=args.port,
            access_log=None,
            print=None,
            shutdown_timeout=2.0,
        )
    finally:
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(str(Path(args.profile) / "ingest.prof"))


# ------------------------------------------------------------------------------- database


async def prepare(url: str, signed: bool) -> tuple[str, str | None]:
    """Tables, the seed, and an API key: (key, signing secret)."""
    from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

    from core import apikeys
    from core.models import Agency, AgencyKind, Base, PublicService, ServicePoint

    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
        async with AsyncSession(engine, expire_on_commit=False) as session:
            agency = Agency(
                code="ALA",
                kind=AgencyKind.LOCAL,
                region="ALA",
                name_kk="Алматы қаласының әкімдігі",
                name_ru="Акимат города Алматы",
                name_en="Akimat of Almaty",
            )
            session.add(agency)
            await session.flush()
            for n in range(SERVICES):
                session.add(
                    PublicService(
                        code=f"ALA-S{n}",
                        agency_id=agency.id,
                        name_kk=f"Қызмет {n}",
                        name_ru=f"Услуга {n}",
                        name_en=f"Service {n}",
                    )
                )
            for n in range(OFFICES):
                session.add(
                    ServicePoint(
                        code=f"ALA-{n:02d}",
                        agency_id=agency.id,
                        region="ALA",
                        name_kk=f"№{n} ХҚКО",
                        name_ru=f"ЦОН №{n}",
                        name_en=f"Service centre No {n}",
                    )
                )
            await session.commit()
            created = await apikeys.create(
                session, SECRET_KEY.encode(), "benchmark", None, with_signing_secret=signed
            )
            await session.commit()
        return created.key, created.signing_secret
    finally:
        await engine.dispose()


async def stored(url: str) -> dict[str, int]:
    from sqlalchemy import func, select
    from sqlalchemy.ext.asyncio import create_async_engine

    from core.models import FunnelDaily, Invitation, ServiceEvent

    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            events = await connection.scalar(select(func.count()).select_from(ServiceEvent))
            distinct = await connection.scalar(
                select(func.count(func.distinct(ServiceEvent.external_id)))
            )
            invitations = await connection.scalar(select(func.count()).select_from(Invitation))
            served = await connection.scalar(select(func.coalesce(func.sum(FunnelDaily.served), 0)))
        return {
            "events": int(events or 0),
            "distinct_external_ids": int(distinct or 0),
            "invitations": int(invitations or 0),
            "funnel_served": int(served or 0),
        }
    finally:
        await engine.dispose()


# ------------------------------------------------------------------------------- load


def bodies(events: int, batch: int, run: str) -> list[bytes]:
    """Every request body, built before the clock starts."""
    delivered = (datetime.now(UTC) - timedelta(minutes=30)).isoformat(timespec="seconds")
    out = []
    for start in range(0, events, batch):
        items = []
        for n in range(start, min(start + batch, events)):
            item: dict[str, Any] = {
                "external_id": f"{run}-{n:07d}",
                "agency_code": "ALA",
                "service_code": f"ALA-S{n % SERVICES}",
                "delivered_at": delivered,
            }
            if n % 10 == 9:
                item["channel"] = "egov"
            else:
                item["channel"] = "service_centre"
                item["office_code"] = f"ALA-{n % OFFICES:02d}"
            items.append(item)
        out.append(json.dumps({"events": items}).encode())
    return out


class Poster:
    def __init__(
        self, http: aiohttp.ClientSession, url: str, key: str, signing_secret: str | None
    ) -> None:
        self.http = http
        self.url = url
        self.key = key
        self.signing_secret = signing_secret
        self.statuses: dict[int, int] = {}
        self.created = 0
        self.latencies: list[float] = []

    async def post(self, body: bytes) -> None:
        from admin.api.auth import expected_signature

        headers = {"Authorization": f"Bearer {self.key}", "Content-Type": "application/json"}
        if self.signing_secret:
            stamp = str(int(time.time()))
            headers["X-Qanagat-Timestamp"] = stamp
            headers["X-Qanagat-Signature"] = expected_signature(self.signing_secret, stamp, body)
        began = time.perf_counter()
        async with self.http.post(self.url, data=body, headers=headers) as reply:
            answer = await reply.read()
        self.latencies.append(time.perf_counter() - began)
        self.statuses[reply.status] = self.statuses.get(reply.status, 0) + 1
        if reply.status in (200, 201):
            self.created += int(json.loads(answer)["created"])
        else:
            print(f"  refused ({reply.status}): {answer[:300]!r}", file=sys.stderr)


async def closed_loop(poster: Poster, batches: list[bytes], concurrency: int) -> float:
    queue = list(reversed(batches))

    async def worker() -> None:
        while queue:
            await poster.post(queue.pop())

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - began


async def run(args: argparse.Namespace) -> dict[str, Any]:
    busy = machine_busy()
    print(f"machine busy before start: {busy:.0f}% of one core")
    database = await create_database(args.database_url)
    server: asyncio.subprocess.Process | None = None
    try:
        key, signing_secret = await prepare(database.url, args.signed)
        port = free_port()
        log = Path(tempfile.gettempdir()) / f"qanagat-ingest-{port}.log"
        log_fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            server = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "benchmarks.ingest",
                "--serve",
                "--port",
                str(port),
                "--database-url",
                database.url,
                *(["--profile", args.profile] if args.profile else []),
                cwd=ROOT,
                stdout=log_fd,
                stderr=log_fd,
            )
        finally:
            os.close(log_fd)
        deadline = time.monotonic() + 60
        while not await accepts(port):
            if server.returncode is not None or time.monotonic() > deadline:
                raise RuntimeError("the server did not start:\n" + log.read_text()[-3000:])
            await asyncio.sleep(0.1)
        run_id = f"b{int(time.time())}"
        warmup = bodies(WARMUP_BATCHES * args.batch, args.batch, run_id + "w")
        measured = bodies(args.events, args.batch, run_id)
        url = f"http://127.0.0.1:{port}/api/v1/service-events"
        connector = aiohttp.TCPConnector(limit=args.concurrency + 2)
        async with aiohttp.ClientSession(
            connector=connector, timeout=aiohttp.ClientTimeout(total=120)
        ) as http:
            poster = Poster(http, url, key, signing_secret)
            for body in warmup:
                await poster.post(body)
            poster.created, poster.latencies, poster.statuses = 0, [], {}
            meter = CpuMeter(server.pid)
            elapsed = await closed_loop(poster, measured, args.concurrency)
            used = meter.used()
            cpu = shares(used, used["wall"])
        counts = await stored(database.url)
        expected_total = args.events + len(warmup) * args.batch
        latencies = sorted(poster.latencies)
        result = {
            "events_per_s": round(poster.created / elapsed, 1),
            "events": args.events,
            "created": poster.created,
            "batch": args.batch,
            "concurrency": args.concurrency,
            "signed": args.signed,
            "seconds": round(elapsed, 2),
            "p50_batch_ms": round(latencies[len(latencies) // 2] * 1000, 1),
            "p99_batch_ms": round(
                latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000, 1
            ),
            "statuses": {str(k): v for k, v in sorted(poster.statuses.items())},
            "stored_events": counts["events"] - len(warmup) * args.batch,
            "lost": expected_total - counts["distinct_external_ids"],
            "duplicates": counts["events"] - counts["distinct_external_ids"],
            "invitations_ok": counts["invitations"] == counts["events"],
            "funnel_ok": counts["funnel_served"] == counts["events"],
            "goal_events_per_s": GOAL,
        }
        print(
            f"{poster.created} events in {elapsed:.2f} s, batches of {args.batch}, "
            f"{args.concurrency} in flight{' (signed)' if args.signed else ''}"
        )
        print(f"batch latency p50 {result['p50_batch_ms']} ms, p99 {result['p99_batch_ms']} ms")
        print(cpu)
        print(f"stored: {counts}")
        return result
    finally:
        if server is not None and server.returncode is None:
            server.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(server.wait(), timeout=20)
            except TimeoutError:
                server.kill()
                await server.wait()
        await database.drop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--signed", action="store_true", help="sign every request (HMAC)")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("QANAGAT_TEST_DATABASE_URL") or DEFAULT_DATABASE_URL,
    )
    parser.add_argument(
        "--profile", help="run the server under cProfile, write DIR/ingest.prof (slower)"
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args)
        return
    if not 1 <= args.batch <= 1000 or args.events < 1:
        parser.error("--batch must be 1..1000 and --events at least 1")
    result = asyncio.run(run(args))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
