"""The public results pages under load: 200 visitors at once, each opening a page, reading it
for a second and opening the next, for 60 s, over PostgreSQL holding the rollups of 10 million
responses.

Run it from the project root; PostgreSQL must be reachable (nothing leaves 127.0.0.1)::

    .venv/bin/python -m benchmarks.public_load                  # 10 million responses, ~3 min
    .venv/bin/python -m benchmarks.public_load --responses 20000 --seconds 5 --visitors 20  # smoke

How it is run:

- A throwaway database ``qanagat_bench_<random>`` on the server of ``--database-url``
  (default: ``QANAGAT_TEST_DATABASE_URL``, else the local test server), dropped at the end.
- Data: the pages read rollups, never responses, so the responses are not stored one by one:
  benchmarks/scoring.py's generator (33 agencies, 300 services, ``--responses`` responses
  answering every question of the shipped survey, seeded) is turned into the ``daily_rollup``
  rows production keeps for them (per day × service × office × metric × value) and their
  ``monthly_rollup`` sums, bulk-loaded with COPY, over the 365 reporting days up to today (so
  the open year and the closed one both have data). The ~200 offices the generator delivers at
  get their rows (with regions, as do the local agencies). Then the score runs of the current
  year under kz-2020 and proposed-s30 (the path of ``qanagat score``), both published.
- The server: the production app (``qanagat.app.build_app`` without the bot: the edge with its
  rate limit, the public pages, the rest of the site) over PostgreSQL, in a child process of
  its own, on a free port of 127.0.0.1, trusting one proxy hop.
- The load: another child process, 200 visitors (``--visitors``), each from an address of its
  own (``X-Forwarded-For``, as behind the reverse proxy), so the per-network rate limit applies
  to each as it would in production and none is refused. Each requests a page, waits for it,
  pauses 1 s, and so on for ``--seconds`` (60) after a 5 s warm-up that is not counted (about
  190 requests/s offered). Pages, at random: the country (15 %), a region (15 %), an agency
  (30 %), a service (20 %), an office (20 %), in kk, ru or en, a third of them of the closed
  year; a tenth of the requests revalidate with the ETag they were given (304 expected).
- A request counts as an error unless it answers 200 with a page (or 304 to a revalidation).

The last line printed is one JSON object:
``{"responses": …, "visitors": …, "requests": …, "p50_ms": …, "p95_ms": …, "errors": …,
"server_cpu_ms_per_request": …, "load_average": …}``.
Goal: p95_ms ≤ 100, errors 0.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import time
from datetime import timedelta
from pathlib import Path

from benchmarks import scoring as scoring_bench
from benchmarks.page_load import (
    WARM_UP_S,
    cpu_seconds,
    latency_figures,
    measure,
    prepare,
    run_from_command_line,
)

SECRET = "benchmark-secret-0123456789abcdef"
PAUSE_S = 1.0
REGIONS = (
    "ABAI", "AKM", "AKT", "ALM", "ATR", "WKO", "ZHM", "ZHT", "KAR", "KOS",
    "KZO", "MAN", "PAV", "NKO", "ULY", "TUR", "VKO", "AST", "ALA", "SHY",
)  # fmt: skip


async def fill(url: str, responses: int) -> dict[str, object]:
    """The catalogue, offices and regions, the rollups of `responses` responses over the last
    365 days, and the published score runs of the current year."""
    import asyncpg

    from core.clock import reporting_day, utcnow
    from core.db import create_engine, create_session_factory
    from core.models import ScoreRun
    from core.periods import parse_period
    from core.score_runs import publish_score_run
    from qanagat.scores import database_inputs, score_and_store
    from scoring import load_methodology

    timings: dict[str, object] = {}
    started = time.perf_counter()
    data = scoring_bench.generate(responses, seed=2026)
    agency_ids, service_ids = await scoring_bench.create_catalogue(url, data)
    rollups = scoring_bench.rollup_frame(data, agency_ids, service_ids)
    first = reporting_day(utcnow()) - timedelta(days=scoring_bench.DAYS - 1)
    moved = {
        (scoring_bench.FIRST_DAY + timedelta(days=d)).isoformat(): (
            first + timedelta(days=d)
        ).isoformat()
        for d in range(scoring_bench.DAYS)
    }
    rollups["day"] = rollups["day"].map(moved)
    timings["rollup_rows"] = len(rollups)
    offices = sorted({int(key) for key in data.service_point if key})
    connection = await asyncpg.connect(scoring_bench._raw_dsn(url))
    try:
        await scoring_bench.copy_rollups(connection, rollups)
        del rollups
        await connection.executemany(
            "INSERT INTO service_point (id, code, agency_id, region, name_kk, name_ru, name_en) "
            "VALUES ($1, $2, $3, $4, $5, $5, $5)",
            [
                (
                    key,
                    f"OFFICE-{key:03d}",
                    int(agency_ids[data.service_agency[key - 1]]),
                    REGIONS[key % len(REGIONS)],
                    f"Office {key}",
                )
                for key in offices
            ],
        )
        local = [
            int(i) for i, kind in zip(agency_ids, data.agency_kinds, strict=True) if kind == "local"
        ]
        await connection.executemany(
            "UPDATE agency SET region = $2 WHERE id = $1",
            [(agency, REGIONS[n % len(REGIONS)]) for n, agency in enumerate(local)],
        )
        timings["monthly_rows"] = await connection.fetchval("SELECT count(*) FROM monthly_rollup")
        await connection.execute("VACUUM ANALYZE")
    finally:
        await connection.close()
    timings["load_s"] = time.perf_counter() - started
    started = time.perf_counter()
    engine = create_engine(url)
    try:
        async with create_session_factory(engine)() as session:
            period = parse_period(str(reporting_day(utcnow()).year))
            inputs, agencies = await database_inputs(session, period)
            for name in scoring_bench.METHODOLOGIES:
                scored = await score_and_store(
                    session, load_methodology(name), period, inputs, agencies, min_sample=30
                )
                run = await session.get(ScoreRun, scored.run_id)
                assert run is not None
                await publish_score_run(session, run, by="benchmark")
            await session.commit()
    finally:
        await engine.dispose()
    timings["score_runs_s"] = time.perf_counter() - started
    timings["agencies"] = list(data.agency_codes)
    timings["services"] = [f"SVC{i:03d}" for i in range(scoring_bench.SERVICES)]
    timings["offices"] = [f"OFFICE-{key:03d}" for key in offices]
    return timings


def serve(url: str, port: int) -> None:
    """The server process: the production app (without the bot) over PostgreSQL."""
    from aiohttp import web
    from pydantic import SecretStr

    from core.settings import Settings
    from qanagat.app import build_app

    settings = Settings(
        _env_file=None,
        database_url=url,
        secret_key=SecretStr(SECRET),
        public_url="http://127.0.0.1",
        trusted_proxy_hops=1,
    )
    web.run_app(
        build_app(settings, with_bot=False),
        host="127.0.0.1",
        port=port,
        print=None,
        access_log=None,
    )


def _paths(chooser: random.Random, places: dict[str, list[str]], years: list[int]) -> str:
    lang = chooser.choice(("kk", "ru", "en"))
    year = f"&year={years[1]}" if len(years) > 1 and chooser.random() < 1 / 3 else ""
    pick = chooser.random()
    if pick < 0.15:
        path = "/results"
    elif pick < 0.30:
        path = f"/results/regions/{chooser.choice(REGIONS)}"
    elif pick < 0.60:
        path = f"/results/agencies/{chooser.choice(places['agencies'])}"
    elif pick < 0.80:
        path = f"/results/services/{chooser.choice(places['services'])}"
    else:
        path = f"/results/offices/{chooser.choice(places['offices'])}"
    return f"{path}?lang={lang}{year}"


async def _load(
    base: str,
    visitors: int,
    seconds: float,
    places: dict[str, list[str]],
    years: list[int],
    server_pid: int,
) -> dict[str, object]:
    import aiohttp

    latencies: list[float] = []
    statuses: dict[str, int] = {}
    errors = 0
    start = time.perf_counter() + WARM_UP_S
    stop = start + seconds
    connector = aiohttp.TCPConnector(limit=0)

    async def visitor(number: int) -> None:
        nonlocal errors
        chooser = random.Random(number)
        address = f"10.{number // 250}.{number % 250}.7"
        tags: dict[str, str] = {}
        async with aiohttp.ClientSession(
            connector=connector, connector_owner=False, headers={"X-Forwarded-For": address}
        ) as session:
            await asyncio.sleep(chooser.random() * PAUSE_S)  # spread the first requests
            while time.perf_counter() < stop:
                path = _paths(chooser, places, years)
                headers = {}
                if path in tags and chooser.random() < 0.1:
                    headers["If-None-Match"] = tags[path]
                began = time.perf_counter()
                try:
                    async with session.get(base + path, headers=headers) as response:
                        body = await response.read()
                        if response.status == 200 and b"</html>" in body:
                            ok = True
                            tags[path] = response.headers.get("ETag", "")
                        else:
                            ok = response.status == 304 and bool(headers)
                        status = str(response.status)
                except aiohttp.ClientError:
                    ok, status = False, "failed"
                ended = time.perf_counter()
                if began >= start and ended <= stop:
                    latencies.append((ended - began) * 1000)
                    statuses[status] = statuses.get(status, 0) + 1
                    errors += 0 if ok else 1
                await asyncio.sleep(PAUSE_S)

    async def server_cpu() -> float | None:
        await asyncio.sleep(max(0.0, start - time.perf_counter()))
        first = cpu_seconds(server_pid)
        await asyncio.sleep(max(0.0, stop - time.perf_counter()))
        last = cpu_seconds(server_pid)
        return None if first is None or last is None else last - first

    try:
        cpu, *_people = await asyncio.gather(server_cpu(), *(visitor(n) for n in range(visitors)))
    finally:
        await connector.close()
    return {
        "latencies": latencies,
        "errors": errors,
        "statuses": statuses,
        "server_cpu_s": cpu,
        "load_average": os.getloadavg()[0],
    }


def load(
    base: str,
    visitors: int,
    seconds: float,
    places: dict[str, list[str]],
    years: list[int],
    out: str,
    server_pid: int,
) -> None:
    """The load generator process; writes its measurements to `out` as JSON."""
    result = asyncio.run(_load(base, visitors, seconds, places, years, server_pid))
    Path(out).write_text(json.dumps(result))


def run(arguments: argparse.Namespace) -> dict[str, object]:
    from core.clock import reporting_day, utcnow

    database, filled = asyncio.run(prepare(arguments.database_url, arguments.responses, fill))
    print(
        f"loaded {arguments.responses:,} responses as {filled['rollup_rows']:,} daily and "
        f"{filled['monthly_rows']:,} monthly rollup rows in {filled['load_s']:.1f} s; "
        f"score runs stored and published in {filled['score_runs_s']:.1f} s"
    )
    places = {name: list(filled[name]) for name in ("agencies", "services", "offices")}
    this_year = reporting_day(utcnow()).year
    load_args = (arguments.visitors, arguments.seconds, places, [this_year, this_year - 1])
    measured = measure(database, serve, load, load_args, arguments.seconds, "public_load")
    requests = len(measured["latencies"])
    print(
        f"{arguments.visitors} visitors, {arguments.seconds:.0f} s: {requests} requests "
        f"({requests / arguments.seconds:.0f}/s), statuses {measured['statuses']}, "
        f"{measured['errors']} errors"
    )
    figures = latency_figures(measured, cpu_decimals=2)
    return {"responses": arguments.responses, "visitors": arguments.visitors, **figures}


def main() -> None:
    run_from_command_line(__doc__, run, ("--visitors", 200))


if __name__ == "__main__":
    main()
