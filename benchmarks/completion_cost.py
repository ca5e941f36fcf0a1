"""What a completion costs now that it only queues its response (the chain keeper counts and
chains the queue), against counting it in its own transaction as it used to (the anti-gaming
rules, the rollups and the funnel), in the same run; and how fast the keeper empties the queue.

    .venv/bin/python -m benchmarks.completion_cost [--responses 400] [--concurrency 32]

Needs the PostgreSQL of the test setup (QANAGAT_TEST_DATABASE_URL, e.g.
postgresql+asyncpg://postgres@127.0.0.1:5432/test); it creates and drops a database of its own.
For each variant: a fresh schema, one akimat with 50 offices, `responses` responses with every
answer stored; then (1) completes half of them one after another and reports the median
latency of completing one (`ResponseStore.complete` and its commit), and (2) completes the
other half from `concurrency` concurrent sessions (closed loop) and reports completions per
second; (3) the keeper's rate: the queue counted and chained (`ledger.seal_all`), responses per
second. Both variants run in one process, one after the other, so the ratio holds when the
machine's speed drifts. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import time
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.engine.definition import load_survey_dir
from bot.engine.flow import metric_values
from core.db import create_engine, create_session_factory
from core.integrity import ledger
from core.integrity.completion import count_queued
from core.integrity.flags import Rules, load_rules
from core.models import (
    Agency,
    AgencyKind,
    Answer,
    Base,
    Channel,
    LedgerPending,
    PublicService,
    Response,
    ServicePoint,
)
from core.settings import PROJECT_ROOT
from core.unit_of_work import UnitOfWork
from tests import services

SURVEY = load_survey_dir(PROJECT_ROOT / "survey_definitions")["post_service"]
ANSWERS: dict[str, Any] = {
    "overall": 4,
    "deadline_met": True,
    "refused": False,
    "extra_documents": False,
    "full_package": True,
    "staff": 5,
    "clarity": 4,
    "received_via": "service_centre",
    "info_quality": 4,
    "comment": None,
}
METRICS = metric_values(SURVEY, ANSWERS)


async def prepare(sessions: async_sessionmaker[AsyncSession], count: int) -> list[int]:
    async with sessions() as session:
        agency = Agency(code="B", kind=AgencyKind.LOCAL, name_kk="B", name_ru="B", name_en="B")
        session.add(agency)
        await session.flush()
        service = PublicService(
            code="B-S", agency_id=agency.id, name_kk="S", name_ru="S", name_en="S"
        )
        offices = [
            ServicePoint(code=f"B-{n}", agency_id=agency.id, name_kk="O", name_ru="O", name_en="O")
            for n in range(50)
        ]
        session.add_all([service, *offices])
        await session.flush()
        rng = random.Random(7)
        ids = []
        for _ in range(count):
            response = Response(
                survey_id=SURVEY.id,
                survey_version=SURVEY.version,
                channel=Channel.TELEGRAM,
                language="ru",
                service_id=service.id,
                service_point_id=rng.choice(offices).id,
                walk_in=False,
            )
            session.add(response)
            await session.flush()
            ids.append(response.id)
        await session.execute(
            insert(Answer),
            [
                {"response_id": r, "question": q, "value": v}
                for r in ids
                for q, v in ANSWERS.items()
            ],
        )
        await session.commit()
    return ids


async def complete(
    sessions: async_sessionmaker[AsyncSession], response_id: int, counting: Rules | None
) -> float:
    """Complete one response and commit. `counting`: count it in the same transaction, as
    completions did before the keeper counted (the keeper then only chains it)."""
    async with sessions() as session:
        started = time.perf_counter()
        uow = UnitOfWork(session)

        async def completed() -> None:
            await uow.responses.complete(response_id, METRICS, False)
            if counting is not None:
                await count_queued(session, [(response_id, METRICS)], counting)
                await session.execute(
                    update(LedgerPending)
                    .where(LedgerPending.response_id == response_id)
                    .values(counts=None)
                )

        await uow.atomically(completed)
        return time.perf_counter() - started


async def measure(
    base_url: str, rules: Rules, counting: Rules | None, count: int, concurrency: int
) -> dict[str, float]:
    url, drop = await services.create_database(base_url, "qanagat_bench")
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
        sessions = create_session_factory(engine)
        ids = await prepare(sessions, count)
        half = len(ids) // 2
        latencies = [await complete(sessions, r, counting) for r in ids[:half]]
        queue = list(ids[half:])

        async def worker() -> None:
            while queue:
                await complete(sessions, queue.pop(), counting)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
        started = time.perf_counter()
        kept = await ledger.seal_all(sessions, rules)
        keeper_s = time.perf_counter() - started
        return {
            "p50_ms": statistics.median(latencies) * 1000,
            "per_s": (len(ids) - half) / elapsed,
            "keeper_per_s": kept / keeper_s,
        }
    finally:
        await engine.dispose()
        await drop()


async def main(count: int, concurrency: int) -> None:
    base_url = services.require_postgres_url()
    # The shipped rules, but no response here is fast or bursty: the counts run, none fires.
    shipped = load_rules()
    rules = shipped.model_copy(
        update={"fast_completion": shipped.fast_completion.model_copy(update={"min_seconds": 0})}
    )
    baseline = await measure(base_url, rules, rules, count, concurrency)
    subject = await measure(base_url, rules, None, count, concurrency)
    for label, figures in (("counted in it", baseline), ("queued only", subject)):
        print(
            f"completion, {label:<14} p50 {figures['p50_ms']:.2f} ms, "
            f"{figures['per_s']:.0f}/s from {concurrency} sessions; "
            f"the keeper counts and chains {figures['keeper_per_s']:.0f}/s"
        )
    print(
        json.dumps(
            {
                "completion_p50_ms": round(subject["p50_ms"], 3),
                "baseline_p50_ms": round(baseline["p50_ms"], 3),
                "latency_ratio": round(subject["p50_ms"] / baseline["p50_ms"], 3),
                "completions_per_s": round(subject["per_s"], 1),
                "baseline_completions_per_s": round(baseline["per_s"], 1),
                "throughput_ratio": round(subject["per_s"] / baseline["per_s"], 3),
                "keeper_per_s": round(subject["keeper_per_s"], 1),
                "concurrency": concurrency,
            }
        )
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=32)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.responses, arguments.concurrency))
