"""Scoring every agency for a year from the daily rollups, against reading the raw response rows
into pandas and aggregating them, in the same run, on the same PostgreSQL server.

Run it from the project root; PostgreSQL must be reachable (nothing leaves 127.0.0.1)::

    .venv/bin/python -m benchmarks.scoring                      # 10 million responses, ~5 min
    .venv/bin/python -m benchmarks.scoring --responses 50000    # smoke run, seconds

How it is run:

- A throwaway database ``qanagat_bench_<random>`` is created on the server of
  ``--database-url`` (default: ``QANAGAT_TEST_DATABASE_URL``, else the local test server) and
  dropped at the end, whatever happens.
- Synthetic data, generated with numpy (seeded): 33 agencies (16 central, 17 local), 300
  services spread over them, each delivered at one office (two thirds) or online (office key 0),
  ``--responses`` completed responses over the 365 days of 2025, each answering the shipped
  survey (all its metrics: ratings, yes/no questions, reasons and the complaint question after a
  low rating, the delivery channel, a comment for one in ten). Each agency has its own level of
  satisfaction. Official indicators for the agencies come from the demo's generator.
- Rollup storage: the real ``daily_rollup`` table (core/models.py, with its unique key and
  indexes), holding exactly the rows production would hold for these responses (every metric,
  one row per day × service × office × metric × value), computed from the raw rows with numpy
  and bulk-loaded with COPY; and the real ``monthly_rollup`` table that production writes with
  it (the same counters per month), filled from the daily rows by the recomputation the core
  tests compare it with (``core.rollups.MONTHLY_FROM_DAILY``).
- Raw storage: the same responses as raw rows in the same database, one row per response with
  one column per question (``raw_response``: the response and its answers flattened, 0 where a
  question was not asked), bulk-loaded with binary COPY. Loading 120 million answer rows of the
  real ``answer`` table would not fit a 10-minute benchmark; the flat table is the raw path's
  best case (one narrow row per response, no JSON to unpack).
- Rollup path (measured in a child process of its own, after its imports): the core adapter
  (``qanagat.scores.database_inputs``: ``core.survey_inputs`` sums the year's monthly rollups in
  SQL, plus the imported indicators and the agencies' kinds), then ``scoring.score`` under
  kz-2020 and proposed-s30. ``rollup_peak_mb`` is that process's peak resident memory
  (``VmHWM``, interpreter and libraries included).
- Raw path (another child process, the same way): the year's raw rows of the scored questions
  read with ``COPY (SELECT …) TO STDOUT`` into ``pandas.read_csv`` (the fastest way to get rows
  from PostgreSQL into pandas), aggregated per agency in pandas (vectorised), turned into the same
  inputs with ``core.survey_inputs.counts_to_inputs``, plus the same indicators, then scored
  the same way.
- Both paths' scores are compared: they must be equal to the last digit, or the run fails.
- ``ratio`` = raw_s / rollup_s. Goal: ratio ≥ 20, rollup_s ≤ 5, rollup_peak_mb ≤ 1024.
- ``sensitivity_s``: the median of three runs of ``scoring.sensitivity`` under proposed-s30,
  33 bodies (the demo's indicators and a seeded survey) × 1,000 draws of the methodology's
  assumptions, in this process after its imports. Goal: ≤ 5 s. ``--sensitivity-only`` measures
  just this (no PostgreSQL needed).

The last line printed is one JSON object:
``{"responses": …, "rollup_s": …, "raw_s": …, "ratio": …, "rollup_peak_mb": …,
"sensitivity_s": …}``.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import resource
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from scoring import Methodology

DEFAULT_DATABASE_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
PERIOD = "2025"
AGENCIES = 33
CENTRAL = 16
SERVICES = 300
DAYS = 365
FIRST_DAY = date(2025, 1, 1)
METHODOLOGIES = ("kz-2020", "proposed-s30")

# The shipped survey's metrics and the value keys its rollups hold (bot/engine/flow.py,
# metric_values); in raw_response the value is stored as its position + 1 (0: not asked).
RATING = ("1", "2", "3", "4", "5")
YES_NO = ("no", "yes")
METRICS: dict[str, tuple[str, ...]] = {
    "satisfaction": RATING,
    "problem_reason": (
        "waiting_time",
        "deadline",
        "refusal",
        "extra_documents",
        "rudeness",
        "unclear_information",
        "other",
    ),
    "deadline_met": YES_NO,
    "unjustified_refusal": YES_NO,
    "extra_documents_demanded": YES_NO,
    "full_package_once": YES_NO,
    "staff_courtesy": RATING,
    "information_clarity": RATING,
    "channel": ("service_centre", "egov", "proactive"),
    "info_quality": RATING,
    "complaint_requested": YES_NO,
    "comment": ("answered",),
}
RESPONSE_CHANNELS = ("telegram", "web", "mini_app")


# ------------------------------------------------------------------------------ synthetic data


@dataclass
class Synthetic:
    agency_codes: list[str]
    agency_kinds: list[str]
    service_agency: np.ndarray  # per service: its agency's index
    service_point: np.ndarray  # per service: its office key (0: delivered online)
    cell: np.ndarray  # per response: service * DAYS + day
    channel: np.ndarray  # per response: position in RESPONSE_CHANNELS
    answers: dict[str, np.ndarray]  # per metric, per response: value position + 1, 0 not asked

    @property
    def responses(self) -> int:
        return len(self.cell)


def generate(responses: int, seed: int) -> Synthetic:
    """Responses drawn per agency's satisfaction level, vectorised (no loop over responses)."""
    rng = np.random.default_rng(seed)
    codes = [f"C{i:02d}" for i in range(CENTRAL)] + [f"L{i:02d}" for i in range(AGENCIES - CENTRAL)]
    kinds = ["central"] * CENTRAL + ["local"] * (AGENCIES - CENTRAL)
    service_agency = np.sort(
        np.concatenate([np.arange(AGENCIES), rng.integers(0, AGENCIES, SERVICES - AGENCIES)])
    )
    service_point = np.where(rng.random(SERVICES) < 2 / 3, np.arange(1, SERVICES + 1), 0)
    # service sizes vary widely; weekdays carry more than weekends
    size = rng.lognormal(0, 0.8, SERVICES)
    weekday = np.array(
        [1.0 if (FIRST_DAY + timedelta(days=d)).weekday() < 5 else 0.4 for d in range(DAYS)]
    )
    weights = np.outer(size, weekday).ravel()
    per_cell = rng.multinomial(responses, weights / weights.sum())
    cell = np.repeat(np.arange(SERVICES * DAYS, dtype=np.int32), per_cell)
    quality = rng.uniform(0.45, 0.95, AGENCIES)[service_agency[cell // DAYS]]
    n = len(cell)

    def rating(q: np.ndarray) -> np.ndarray:
        good = rng.random(n) < q
        high = 4 + (rng.random(n) < 2 / 3)
        low = rng.integers(1, 4, n)
        return np.where(good, high, low).astype(np.int16)

    def yes(chance: np.ndarray) -> np.ndarray:  # 2 = yes, 1 = no
        return (1 + (rng.random(n) < chance)).astype(np.int16)

    satisfaction = rating(quality)
    unhappy = satisfaction <= 2
    answers = {
        "satisfaction": satisfaction,
        "problem_reason": np.where(unhappy, rng.integers(1, 8, n), 0).astype(np.int16),
        "deadline_met": yes(1 - 0.3 * (1 - quality)),
        "unjustified_refusal": yes(0.15 * (1 - quality)),
        "extra_documents_demanded": yes(0.3 * (1 - quality)),
        "full_package_once": yes(1 - 0.4 * (1 - quality)),
        "staff_courtesy": rating(quality),
        "information_clarity": rating(quality),
        "channel": rng.choice(np.array([1, 2, 3], dtype=np.int16), n, p=[0.6, 0.3, 0.1]),
        "info_quality": rating(quality * 0.95),
        "complaint_requested": np.where(unhappy, yes(np.full(n, 0.3)), 0).astype(np.int16),
        "comment": (rng.random(n) < 0.1).astype(np.int16),
    }
    channel = rng.choice(np.arange(3, dtype=np.int16), n, p=[0.6, 0.3, 0.1])
    return Synthetic(codes, kinds, service_agency, service_point, cell, channel, answers)


def rollup_frame(data: Synthetic, agency_ids: np.ndarray, service_ids: np.ndarray) -> pd.DataFrame:
    """The daily_rollup rows production keeps for these responses: counts per day × service ×
    office × metric × value (np.bincount per metric)."""
    cells = SERVICES * DAYS
    parts = []
    for metric, codes in [("responses", None), *METRICS.items()]:
        values = data.channel.astype(np.int64) + 1 if codes is None else data.answers[metric]
        width = len(RESPONSE_CHANNELS if codes is None else codes) + 1
        counts = np.bincount(data.cell.astype(np.int64) * width + values, minlength=cells * width)
        counts = counts.reshape(cells, width)[:, 1:]  # drop "not asked"
        cell, position = np.nonzero(counts)
        keys = np.asarray(RESPONSE_CHANNELS if codes is None else codes, dtype=object)
        parts.append(
            pd.DataFrame(
                {
                    "cell": cell,
                    "metric": metric,
                    "value_key": keys[position],
                    "count": counts[cell, position],
                }
            )
        )
    rows = pd.concat(parts, ignore_index=True)
    service = rows["cell"].to_numpy() // DAYS
    days = np.array(
        [(FIRST_DAY + timedelta(days=d)).isoformat() for d in range(DAYS)], dtype=object
    )
    return pd.DataFrame(
        {
            "day": days[rows["cell"].to_numpy() % DAYS],
            "agency_id": agency_ids[data.service_agency[service]],
            "service_id": service_ids[service],
            "service_point_key": data.service_point[service],
            "metric": rows["metric"],
            "value_key": rows["value_key"],
            "count": rows["count"],
        }
    )


RAW_COLUMNS = ("day", "agency_id", "service_id", "service_point_key", "response_channel", *METRICS)


def raw_copy_chunks(
    data: Synthetic, agency_ids: np.ndarray, service_ids: np.ndarray, chunk: int = 1_000_000
) -> Iterator[bytes]:
    """raw_response rows in PostgreSQL's binary COPY format, built with numpy, chunk by chunk."""
    fields = [
        ("day", ">i4"),
        ("agency_id", ">i4"),
        ("service_id", ">i4"),
        ("service_point_key", ">i4"),
    ]
    fields += [(name, ">i2") for name in ("response_channel", *METRICS)]
    layout = [("count", ">i2")]
    for name, kind in fields:
        layout += [(f"{name}_len", ">i4"), (name, kind)]
    dtype = np.dtype(layout)
    epoch = (FIRST_DAY - date(2000, 1, 1)).days  # binary dates count days from 2000-01-01
    for start in range(0, data.responses, chunk):
        part = slice(start, min(start + chunk, data.responses))
        cell = data.cell[part]
        service = cell // DAYS
        rows = np.empty(len(cell), dtype=dtype)
        rows["count"] = len(fields)
        for name, kind in fields:
            rows[f"{name}_len"] = np.dtype(kind).itemsize
        rows["day"] = epoch + cell % DAYS
        rows["agency_id"] = agency_ids[data.service_agency[service]]
        rows["service_id"] = service_ids[service]
        rows["service_point_key"] = data.service_point[service]
        rows["response_channel"] = data.channel[part] + 1
        for metric in METRICS:
            rows[metric] = data.answers[metric][part]
        header = b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8
        yield header + rows.tobytes() + b"\xff\xff"


# ------------------------------------------------------------------------------ the database


@dataclass
class Database:
    url: str
    drop: Callable[[], Coroutine[Any, Any, None]]


async def create_database(base_url: str) -> Database:
    """A throwaway database `qanagat_bench_<random>` on the server of `base_url`."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.pool import NullPool

    base = make_url(base_url)
    name = f"qanagat_bench_{secrets.token_hex(6)}"
    admin = create_async_engine(base, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    async with admin.connect() as connection:
        await connection.execute(text(f'CREATE DATABASE "{name}"'))

    async def drop() -> None:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()

    return Database(base.set(database=name).render_as_string(hide_password=False), drop)


def _raw_dsn(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def create_catalogue(url: str, data: Synthetic) -> tuple[np.ndarray, np.ndarray]:
    """Tables, agencies, services and indicators (through core); the agencies' and services'
    database ids, by position."""
    from sqlalchemy import insert, select

    from core.db import create_engine, create_session_factory
    from core.indicator_file import IndicatorRow
    from core.indicators import store_indicators
    from core.models import Agency, AgencyKind, Base, PublicService
    from qanagat.demo_indicators import Profile, indicators

    engine = create_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    async with create_session_factory(engine)() as session:
        await session.execute(
            insert(Agency),
            [
                {
                    "code": code,
                    "kind": AgencyKind(kind),
                    "name_kk": code,
                    "name_ru": code,
                    "name_en": code,
                    "language": "kk",
                }
                for code, kind in zip(data.agency_codes, data.agency_kinds, strict=True)
            ],
        )
        ids: dict[str, int] = {
            code: id_ for code, id_ in await session.execute(select(Agency.code, Agency.id))
        }
        agency_ids = np.array([ids[code] for code in data.agency_codes])
        await session.execute(
            insert(PublicService),
            [
                {
                    "code": f"SVC{i:03d}",
                    "agency_id": int(agency_ids[a]),
                    "name_kk": "s",
                    "name_ru": "s",
                    "name_en": "s",
                    "survey_id": "post_service",
                }
                for i, a in enumerate(data.service_agency)
            ],
        )
        ids = {
            code: id_
            for code, id_ in await session.execute(select(PublicService.code, PublicService.id))
        }
        service_ids = np.array([ids[f"SVC{i:03d}"] for i in range(SERVICES)])
        rng = np.random.default_rng(7)
        profiles = [
            Profile(code, kind, float(rng.lognormal(0, 0.5)), float(rng.uniform(0.05, 1)), 0.5)
            for code, kind in zip(data.agency_codes, data.agency_kinds, strict=True)
        ]
        rows = [
            IndicatorRow(0, agency, period, name, float(value), None)
            for agency, period, name, value, _ in indicators(profiles)
        ]
        await store_indicators(session, rows, "benchmark")
        await session.commit()
    await engine.dispose()
    return agency_ids, service_ids


async def copy_rollups(connection, rollups: pd.DataFrame) -> None:  # type: ignore[no-untyped-def]
    """Bulk-load rollup rows into daily_rollup with COPY (asyncpg `connection`), and the monthly
    rollups from them."""
    from core.rollups import MONTHLY_FROM_DAILY

    buffer = io.BytesIO()
    rollups.assign(updated_at="2026-01-01 00:00:00+00").to_csv(buffer, index=False, header=False)
    buffer.seek(0)
    # as any bulk load: constraints and indexes off during COPY, rebuilt in one pass after
    # (the table ends exactly as core/models.py defines it)
    definitions = await connection.fetch(
        "SELECT conname, pg_get_constraintdef(oid) AS definition FROM pg_constraint "
        "WHERE conrelid = 'daily_rollup'::regclass AND contype IN ('u', 'f')"
    )
    indexes = await connection.fetch(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'daily_rollup' "
        "AND indexname LIKE 'ix_%'"
    )
    for row in definitions:
        await connection.execute(f'ALTER TABLE daily_rollup DROP CONSTRAINT "{row["conname"]}"')
    for row in indexes:
        await connection.execute(f'DROP INDEX "{row["indexname"]}"')
    await connection.copy_to_table(
        "daily_rollup",
        source=buffer,
        columns=[
            "day",
            "agency_id",
            "service_id",
            "service_point_key",
            "metric",
            "value_key",
            "count",
            "updated_at",
        ],
        format="csv",
    )
    for row in definitions:
        await connection.execute(
            f'ALTER TABLE daily_rollup ADD CONSTRAINT "{row["conname"]}" {row["definition"]}'
        )
    for row in indexes:
        await connection.execute(row["indexdef"])
    # the monthly counters production keeps next to the daily ones: their sums by month
    await connection.execute(
        "INSERT INTO monthly_rollup (month, agency_id, service_id, service_point_key, metric, "
        f"value_key, count) {MONTHLY_FROM_DAILY}"
    )


async def load(url: str, data: Synthetic) -> dict[str, float]:
    """Tables, agencies, services, indicators (through core), then COPY of rollups and raw rows."""
    import asyncpg

    timings: dict[str, float] = {}
    agency_ids, service_ids = await create_catalogue(url, data)
    started = time.perf_counter()
    rollups = rollup_frame(data, agency_ids, service_ids)
    timings["rollup_rows"] = len(rollups)
    connection = await asyncpg.connect(_raw_dsn(url))
    try:
        await copy_rollups(connection, rollups)
        del rollups
        timings["monthly_rows"] = await connection.fetchval("SELECT count(*) FROM monthly_rollup")
        timings["load_rollups_s"] = time.perf_counter() - started
        started = time.perf_counter()
        await connection.execute(
            "CREATE TABLE raw_response (day date NOT NULL, agency_id integer NOT NULL, "
            "service_id integer NOT NULL, service_point_key integer NOT NULL, "
            + ", ".join(f"{name} smallint NOT NULL" for name in ("response_channel", *METRICS))
            + ")"
        )
        for chunk in raw_copy_chunks(data, agency_ids, service_ids):
            await connection.copy_to_table(
                "raw_response", source=io.BytesIO(chunk), columns=list(RAW_COLUMNS), format="binary"
            )
        await connection.execute("CREATE INDEX ix_raw_response_day ON raw_response (day)")
        timings["load_raw_s"] = time.perf_counter() - started
        await connection.execute("VACUUM ANALYZE")
    finally:
        await connection.close()
    return timings


# ------------------------------------------------------------------------------ the two paths


async def rollup_path(url: str, methodologies: list[Methodology]) -> list[pd.DataFrame]:
    from core.db import create_engine, create_session_factory
    from core.periods import parse_period
    from qanagat.scores import database_inputs
    from scoring import score

    started = time.perf_counter()
    engine = create_engine(url)
    try:
        async with create_session_factory(engine)() as session:
            inputs, agencies = await database_inputs(session, parse_period(PERIOD))
    finally:
        await engine.dispose()
    STAGES["read_s"] = time.perf_counter() - started
    return [score(methodology, inputs, agencies) for methodology in methodologies]


# where a path's time went, for the human-readable lines (filled by the path that knows)
STAGES: dict[str, float] = {}


# raw columns the shares read, and which stored codes count (value position + 1)
SCORED = {
    "satisfaction": (4, 5),
    "info_quality": (4, 5),
    "unjustified_refusal": (2,),
    "extra_documents_demanded": (2,),
    "full_package_once": (2,),
}


# the scored questions' columns of the period's raw rows, with the agency's code
RAW_QUERY = (
    "SELECT agency.code AS agency, r.satisfaction, r.info_quality, r.unjustified_refusal, "
    "r.extra_documents_demanded, r.full_package_once FROM raw_response AS r "
    "JOIN agency ON agency.id = r.agency_id WHERE r.day >= $1 AND r.day < $2"
)


async def raw_path(url: str, methodologies: list[Methodology]) -> list[pd.DataFrame]:
    import asyncpg

    from core.db import create_engine, create_session_factory
    from core.indicators import indicator_inputs, scored_agencies
    from core.periods import parse_period
    from core.survey_inputs import SURVEY_SHARES, counts_to_inputs
    from qanagat.scores import combine
    from scoring import score

    period = parse_period(PERIOD)
    connection = await asyncpg.connect(_raw_dsn(url))
    buffer = io.BytesIO()
    try:
        await connection.copy_from_query(
            RAW_QUERY,
            period.first,
            period.end,
            output=buffer,
            format="csv",
            header=True,
        )
    finally:
        await connection.close()
    buffer.seek(0)
    rows = pd.read_csv(buffer, dtype={"agency": "str", **{c: "int16" for c in SCORED}})
    del buffer
    # per agency: responses, and per share its answered and counted numbers (vectorised)
    table = pd.DataFrame(
        {"agency": rows["agency"], "responses": np.ones(len(rows), dtype=np.int64)}
    )
    for share in SURVEY_SHARES:
        column = rows[share.metric].to_numpy()
        table[f"{share.input}.answered"] = (column > 0).astype(np.int64)
        table[share.input] = np.isin(column, SCORED[share.metric]).astype(np.int64)
    del rows
    counts = table.groupby("agency", sort=True).sum().reset_index()
    survey = counts_to_inputs(counts, period.name, ["agency"])
    engine = create_engine(url)
    try:
        async with create_session_factory(engine)() as session:
            imported = await indicator_inputs(session, period.name)
            agencies = await scored_agencies(session)
    finally:
        await engine.dispose()
    inputs = combine(survey, imported)
    return [score(methodology, inputs, agencies) for methodology in methodologies]


def _peak_resident_mb() -> float:
    """This process's peak resident memory. VmHWM, not ru_maxrss: on Linux ru_maxrss survives
    exec, so a child would report the parent's peak from before it started."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(path: str, url: str, out: Path) -> None:
    """Child mode: run one path once, print its time and peak memory as JSON. Imports and the
    methodology files are loaded before the clock starts, the same for both paths."""
    import asyncpg  # noqa: F401
    import sqlalchemy.dialects.postgresql.asyncpg  # noqa: F401

    import qanagat.scores  # noqa: F401
    from scoring import load_methodology

    methodologies = [load_methodology(name) for name in METHODOLOGIES]
    runner = rollup_path if path == "rollup" else raw_path
    started, cpu = time.perf_counter(), time.process_time()
    results = asyncio.run(runner(url, methodologies))
    seconds, cpu_s = time.perf_counter() - started, time.process_time() - cpu
    peak_mb = _peak_resident_mb()
    pd.concat(results, keys=METHODOLOGIES, names=["methodology"]).to_csv(out)
    print(json.dumps({"seconds": seconds, "cpu_s": cpu_s, "peak_mb": peak_mb, **STAGES}))


def _child(path: str, url: str, out: Path) -> dict[str, float]:
    result = subprocess.run(  # noqa: S603 (this script, with our own arguments)
        [
            sys.executable,
            "-m",
            "benchmarks.scoring",
            "--measure",
            path,
            "--url",
            url,
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )
    if result.returncode != 0:
        raise RuntimeError(f"the {path} path failed:\n{result.stderr[-3000:]}")
    figures: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    return figures


async def run(arguments: argparse.Namespace) -> dict[str, float]:
    database = await create_database(arguments.database_url)
    try:
        started = time.perf_counter()
        data = generate(arguments.responses, arguments.seed)
        print(f"generated {data.responses:,} responses in {time.perf_counter() - started:.1f} s")
        timings = await load(database.url, data)
        del data
        rollup_rows = int(timings["rollup_rows"])
        print(
            f"loaded {rollup_rows:,} daily rollup rows ({int(timings['monthly_rows']):,} "
            f"monthly) in {timings['load_rollups_s']:.1f} s, "
            f"{arguments.responses:,} raw rows in {timings['load_raw_s']:.1f} s"
        )
        with tempfile.TemporaryDirectory() as folder:
            rollup_out, raw_out = Path(folder) / "rollup.csv", Path(folder) / "raw.csv"
            rollup = _child("rollup", database.url, rollup_out)
            print(
                f"rollup path: {rollup['seconds']:.3f} s ({rollup['read_s']:.3f} s reading the "
                f"inputs; this process's CPU {rollup['cpu_s']:.3f} s), "
                f"peak {rollup['peak_mb']:.0f} MB"
            )
            raw = _child("raw", database.url, raw_out)
            print(
                f"raw path:    {raw['seconds']:.3f} s (this process's CPU {raw['cpu_s']:.3f} s), "
                f"peak {raw['peak_mb']:.0f} MB"
            )
            same = rollup_out.read_bytes() == raw_out.read_bytes()
        if not same:
            raise RuntimeError("the rollup and raw paths gave different scores")
        print("both paths give the same scores, to the last digit")
        return {
            "responses": arguments.responses,
            "rollup_s": round(rollup["seconds"], 3),
            "raw_s": round(raw["seconds"], 3),
            "ratio": round(raw["seconds"] / rollup["seconds"], 1),
            "rollup_peak_mb": round(rollup["peak_mb"], 1),
        }
    finally:
        await database.drop()


def sensitivity_seconds(draws: int = 1000, repeats: int = 3, seed: int = 2025) -> float:
    """The median time of `repeats` sensitivity runs over the 33 demo bodies."""
    from qanagat.demo_indicators import demo_codes, indicators, profiles
    from scoring import load_methodology, sensitivity

    rng = np.random.default_rng(seed)
    rows = [(a, p, i, float(v)) for a, p, i, v, _ in indicators(profiles(demo_codes()))]
    kinds = sorted({(a, k) for a, _, _, _, k in indicators(profiles(demo_codes()))})
    for agency, _ in kinds:
        rows += [
            (agency, "2025", "responses", float(rng.integers(150, 3000))),
            (agency, "2025", "satisfied_share", float(rng.uniform(0.55, 0.95))),
            (agency, "2025", "full_package_once_rate", float(rng.uniform(0.6, 0.98))),
            (agency, "2025", "dataset_ratings", float(rng.integers(100, 800))),
            (agency, "2025", "dataset_verifiable_share", float(rng.uniform(0.3, 0.9))),
            (agency, "2025", "dataset_problems_due", 4.0),
            (agency, "2025", "dataset_problems_resolved_in_time", 3.0),
        ]
    inputs = pd.DataFrame(rows, columns=["agency", "period", "input", "value"])
    agencies = pd.DataFrame(kinds, columns=["agency", "kind"])
    methodology = load_methodology("proposed-s30")
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        table = sensitivity(methodology, inputs, agencies, draws=draws, seed=seed)
        times.append(time.perf_counter() - started)
        assert len(table) == len(agencies) and table["value"].notna().all()
    return float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=10_000_000)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("QANAGAT_TEST_DATABASE_URL") or DEFAULT_DATABASE_URL,
        help="a PostgreSQL server (its maintenance database) where a throwaway database is made",
    )
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--measure", choices=["rollup", "raw"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument(
        "--sensitivity-only", action="store_true", help="measure only sensitivity_s (no database)"
    )
    arguments = parser.parse_args()
    if arguments.measure:
        measure(arguments.measure, arguments.url, arguments.out)
        return
    figures: dict[str, float] = {}
    if not arguments.sensitivity_only:
        figures = asyncio.run(run(arguments))
    seconds = sensitivity_seconds()
    print(f"sensitivity: 33 bodies × 1,000 draws in {seconds:.2f} s (median of three)")
    print(json.dumps({**figures, "sensitivity_s": round(seconds, 3)}))


if __name__ == "__main__":
    main()
