"""The admin under load: 20 people, each opening a page, reading it for a second and opening
the next, for 60 s, over PostgreSQL holding the rollups of 10 million responses.

Run it from the project root; PostgreSQL must be reachable (nothing leaves 127.0.0.1)::

    .venv/bin/python -m benchmarks.admin_load                    # 10 million responses, ~3 min
    .venv/bin/python -m benchmarks.admin_load --responses 20000 --seconds 5 --users 3   # smoke

How it is run:

- A throwaway database ``qanagat_bench_<random>`` on the server of ``--database-url``
  (default: ``QANAGAT_TEST_DATABASE_URL``, else the local test server), dropped at the end.
- Data: benchmarks/scoring.py's generator (33 agencies, 300 services, ``--responses``
  responses answering every question of the shipped survey, seeded), over the 365 reporting
  days up to today, turned into the ``daily_rollup`` rows production keeps for them (the same
  per day × service × office × metric × value counters `core.rollups` adds response by
  response) and bulk-loaded with COPY. Then the stored score runs of the current year under
  kz-2020 and proposed-s30, through the same path as ``qanagat score`` (core.survey_inputs over
  the rollups, imported indicators, scoring, core.score_runs), and one admin user.
- The server: the production admin app (``setup_admin`` on an aiohttp app, the PostgreSQL
  engine of core.db) in a child process of its own, on a free port of 127.0.0.1.
- The load: another child process, 20 simulated users (``--users``), each signed in with its
  own session, requesting a page, waiting for it, pausing 1 s, and so on for ``--seconds`` (60)
  after a 5 s warm-up that is not counted (about 20 requests/s while pages stay fast, as
  the project's benchmark convention for the admin says). Pages: the ranking (``/admin/ranking``
  when the route exists, otherwise the overview and the agencies list) and agency pages (a
  random agency each time), half and half, each with the default period (90 days).
- A request counts as an error unless it answers 200 with a page.

The last line printed is one JSON object:
``{"responses": …, "requests": …, "p50_ms": …, "p95_ms": …, "errors": …,
"server_cpu_ms_per_request": …, "load_average": …}``: the last two say how much CPU the
server process spent per measured request (from /proc, over the measured window; None where
there is no /proc) and how busy the machine was, since on a shared machine the latencies
depend on the other work more than on the pages.
Goal: p95_ms ≤ 300, errors 0.
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

EMAIL = "bench@example.kz"
PASSWORD = "benchmark password 0123"
SECRET = "benchmark-secret-0123456789abcdef"
PAUSE_S = 1.0


async def fill(url: str, responses: int) -> dict[str, float]:
    """The catalogue, the rollups of `responses` responses over the last 365 days, the score
    runs of the current year and one admin user."""
    import asyncpg

    from admin import accounts
    from core.clock import reporting_day, utcnow
    from core.db import create_engine, create_session_factory
    from core.models import AdminRole
    from core.periods import parse_period
    from qanagat.scores import database_inputs, score_and_store
    from scoring import load_methodology

    timings: dict[str, float] = {}
    started = time.perf_counter()
    data = scoring_bench.generate(responses, seed=2026)
    agency_ids, service_ids = await scoring_bench.create_catalogue(url, data)
    rollups = scoring_bench.rollup_frame(data, agency_ids, service_ids)
    # the generator's year moved to the 365 days up to today, so the default period has data
    first = reporting_day(utcnow()) - timedelta(days=scoring_bench.DAYS - 1)
    moved = {
        (scoring_bench.FIRST_DAY + timedelta(days=d)).isoformat(): (
            first + timedelta(days=d)
        ).isoformat()
        for d in range(scoring_bench.DAYS)
    }
    rollups["day"] = rollups["day"].map(moved)
    timings["rollup_rows"] = len(rollups)
    connection = await asyncpg.connect(scoring_bench._raw_dsn(url))
    try:
        await scoring_bench.copy_rollups(connection, rollups)
        del rollups
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
                await score_and_store(
                    session, load_methodology(name), period, inputs, agencies, min_sample=30
                )
            await accounts.add_user(
                session, accounts.NewUser(EMAIL, AdminRole.ADMIN, None, "ru"), PASSWORD, 12
            )
            await session.commit()
    finally:
        await engine.dispose()
    timings["score_runs_s"] = time.perf_counter() - started
    return timings


def _settings(url: str):  # type: ignore[no-untyped-def]
    from pydantic import SecretStr

    from core.settings import Settings

    return Settings(
        _env_file=None,
        database_url=url,
        secret_key=SecretStr(SECRET),
        public_url="http://127.0.0.1",
        # Every simulated user signs in as the same account from the same address at the
        # start: the sign-in throttle (5 attempts per account and address) would refuse all
        # but five of them.
        admin_login_max_failures=10_000,
    )


def serve(url: str, port: int) -> None:
    """The server process: the production admin app over PostgreSQL."""
    from aiohttp import web

    from admin.web.app import setup_admin
    from core.db import create_engine, create_session_factory

    async def build() -> web.Application:
        engine = create_engine(url)
        app = web.Application()
        setup_admin(app, settings=_settings(url), session_factory=create_session_factory(engine))

        async def close(_app: web.Application) -> None:
            await engine.dispose()

        app.on_cleanup.append(close)
        return app

    web.run_app(build(), host="127.0.0.1", port=port, print=None, access_log=None)


async def _sign_in(session, base: str) -> None:  # type: ignore[no-untyped-def]
    import re

    async with session.get(f"{base}/admin/login") as response:
        page = await response.text()
    token = re.search(r'name="csrf" value="([^"]+)"', page)
    assert token, "no CSRF token on the sign-in page"
    form = {"csrf": token.group(1), "email": EMAIL, "password": PASSWORD}
    async with session.post(f"{base}/admin/login", data=form) as response:
        await response.read()
        if response.status != 200 or "/admin/login" in str(response.url):
            raise RuntimeError(f"sign-in failed: {response.status} {response.url}")


async def _load(
    base: str, users: int, seconds: float, codes: list[str], server_pid: int
) -> dict[str, object]:
    import aiohttp

    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as probe:
        await _sign_in(probe, base)
        async with probe.get(f"{base}/admin/ranking", allow_redirects=False) as response:
            ranking = response.status == 200
    lists = ["/admin/ranking"] if ranking else ["/admin/", "/admin/agencies"]
    latencies: list[float] = []
    errors = 0
    start = time.perf_counter() + WARM_UP_S
    stop = start + seconds

    async def person(number: int) -> None:
        nonlocal errors
        chooser = random.Random(number)
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar) as session:
            await _sign_in(session, base)
            await asyncio.sleep(chooser.random() * PAUSE_S)  # spread the first requests
            while time.perf_counter() < stop:
                if chooser.random() < 0.5:
                    path = chooser.choice(lists)
                else:
                    path = f"/admin/agencies/{chooser.choice(codes)}"
                began = time.perf_counter()
                try:
                    async with session.get(base + path, allow_redirects=False) as response:
                        body = await response.read()
                        ok = response.status == 200 and b"</html>" in body
                except aiohttp.ClientError:
                    ok = False
                ended = time.perf_counter()
                if began >= start and ended <= stop:
                    latencies.append((ended - began) * 1000)
                    errors += 0 if ok else 1
                await asyncio.sleep(PAUSE_S)

    async def server_cpu() -> float | None:
        # the server's CPU over the measured window only: figures that do not depend on how
        # busy the machine is with other work
        await asyncio.sleep(max(0.0, start - time.perf_counter()))
        first = cpu_seconds(server_pid)
        await asyncio.sleep(max(0.0, stop - time.perf_counter()))
        last = cpu_seconds(server_pid)
        return None if first is None or last is None else last - first

    cpu, *_people = await asyncio.gather(server_cpu(), *(person(n) for n in range(users)))
    return {
        "latencies": latencies,
        "errors": errors,
        "ranking": ranking,
        "server_cpu_s": cpu,
        "load_average": os.getloadavg()[0],
    }


def load(
    base: str, users: int, seconds: float, codes: list[str], out: str, server_pid: int
) -> None:
    """The load generator process; writes its measurements to `out` as JSON."""
    result = asyncio.run(_load(base, users, seconds, codes, server_pid))
    Path(out).write_text(json.dumps(result))


def run(arguments: argparse.Namespace) -> dict[str, object]:
    database, timings = asyncio.run(prepare(arguments.database_url, arguments.responses, fill))
    print(
        f"loaded {arguments.responses:,} responses as {int(timings['rollup_rows']):,} rollup rows "
        f"in {timings['load_s']:.1f} s; score runs stored in {timings['score_runs_s']:.1f} s"
    )
    codes = [f"C{i:02d}" for i in range(scoring_bench.CENTRAL)] + [
        f"L{i:02d}" for i in range(scoring_bench.AGENCIES - scoring_bench.CENTRAL)
    ]
    load_args = (arguments.users, arguments.seconds, codes)
    measured = measure(database, serve, load, load_args, arguments.seconds, "admin_load")
    pages = "the ranking" if measured["ranking"] else "the overview and agencies list"
    print(
        f"{arguments.users} users, {arguments.seconds:.0f} s: {len(measured['latencies'])} "
        f"requests ({pages} and agency pages), {measured['errors']} errors"
    )
    return {"responses": arguments.responses, **latency_figures(measured)}


def main() -> None:
    run_from_command_line(__doc__, run, ("--users", 20))


if __name__ == "__main__":
    main()
