"""An agency's complaint summary for one period with 100,000 complaints: time and peak memory.

Run it from the project root; it needs nothing but the installed packages::

    .venv/bin/python -m benchmarks.summaries                      # 100,000 complaints, one run
    .venv/bin/python -m benchmarks.summaries --complaints 10000 --repeat 3

How it is run: each run is a fresh process (``multiprocessing`` spawn), so its peak memory
(the child's maximum resident set) is the summary's with the libraries loaded, and nothing
cached by an earlier run helps. The child generates the frames first (not timed): one
agency's period of ``--complaints`` complaints in Kazakh and Russian (sentences of the test
corpus cut and recombined with filler words, one in ten with an IIN, a phone or a name), 40
offices of which one gets three times its share this period, 12 services, every status,
deadlines around now, ratings on a third of the answers; and, as the history, five earlier
periods of the same size (the last is the previous period) without texts, which the history
does not need. Then it times :func:`scoring.complaint_summary.summarise` and
:func:`scoring.summary_render.render_summary` (in Russian) together, wall-clock and CPU,
library imports included.

The last line is one JSON object: ``{"complaints": …, "summary_s": …, "peak_mb": …,
"cpu_s": …, "frames_mb": …, "runs": …}``: the medians over ``--repeat`` runs, the largest
peak, and the largest resident memory before the summary started (the generated frames and
pandas loaded), which the peak includes.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import resource
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from benchmarks.complaint_text import FILLERS, PERSONAL

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "complaints_kk_ru.yaml"
CATEGORY = {
    "queue": "waiting_time",
    "documents": "extra_documents",
    "rudeness": "rudeness",
    "deadline": "deadline_missed",
    "refusal": "unjustified_refusal",
    "egov": "unclear_information",
    "bribe": "corruption",
}
STATUSES = ["received", "in_review", "answered", "closed"]
OFFICES = [f"ЦОН-{number:02}" for number in range(1, 41)]
SERVICES = [f"S-{number:03}" for number in range(1, 13)]
PERIOD_START = datetime(2026, 11, 23, tzinfo=UTC)
NOW = PERIOD_START + timedelta(days=7, hours=9)


def texts(count: int, rng: random.Random) -> tuple[list[str], list[str], list[str]]:
    """``count`` kk/ru complaint texts, their languages and categories, mostly distinct."""
    rows = yaml.safe_load(CORPUS.read_text(encoding="utf-8"))["complaints"]
    rows = [row for row in rows if row["lang"] in ("kk", "ru")]
    found: tuple[list[str], list[str], list[str]] = ([], [], [])
    for _ in range(count):
        first, second = rng.choice(rows), rng.choice(rows)
        if second["lang"] != first["lang"]:
            second = first
        a, b = first["text"].rstrip(".").split(), second["text"].rstrip(".").split()
        words = a[: rng.randint(3, len(a))] + b[rng.randint(0, len(b) // 2) :]
        for _ in range(rng.randint(1, 3)):
            words.insert(rng.randrange(len(words) + 1), rng.choice(FILLERS[first["lang"]]))
        if rng.random() < 0.1:
            words.insert(rng.randrange(len(words) + 1), rng.choice(PERSONAL) + ",")
        found[0].append(" ".join(words) + ".")
        found[1].append(first["lang"])
        found[2].append(CATEGORY.get(first["theme"], "other"))
    return found


def frame(count: int, start: datetime, rng: random.Random, *, with_texts: bool) -> Any:
    """One period's complaints (the columns of scoring.complaint_summary.COLUMNS)."""
    import numpy as np
    import pandas as pd

    generator = np.random.default_rng(rng.randrange(2**32))
    weights = np.ones(len(OFFICES))
    if with_texts:  # this period: one office with three times its share
        weights[0] = 3.0
    received = pd.Timestamp(start) + pd.to_timedelta(generator.uniform(0, 7 * 86400, count), "s")
    deadline = (
        received + pd.Timedelta(days=15) - pd.to_timedelta(generator.integers(0, 20, count), "D")
    )
    status = generator.choice(STATUSES, size=count, p=[0.2, 0.3, 0.3, 0.2])
    answered_gap = pd.to_timedelta(generator.integers(1, 20, count), "D")
    answered = (received + answered_gap).where(np.isin(status, ["answered", "closed"]))
    rating = pd.Series(generator.integers(1, 6, count), dtype="float64")
    rating = rating.where(pd.notna(answered) & (generator.random(count) < 0.33))
    text: list[str | None]
    if with_texts:
        written, language, category = texts(count, rng)
        text = list(written)
    else:
        text = [None] * count
        language = ["ru"] * count
        category = list(generator.choice(list(CATEGORY.values()), size=count))
    return pd.DataFrame(
        {
            "complaint_id": np.arange(count),
            "agency": "MJ",
            "received_at": received,
            "category": category,
            "service": generator.choice(SERVICES, size=count),
            "office": generator.choice(OFFICES, size=count, p=weights / weights.sum()),
            "status": status,
            "deadline": deadline,
            "answered_at": answered,
            "text": text,
            "language": language,
            "answer_rating": rating,
        }
    )


def _run(count: int, seed: int, out: Any) -> None:
    import pandas as pd

    rng = random.Random(seed)
    current = frame(count, PERIOD_START, rng, with_texts=True)
    earlier = []
    for weeks in range(5, 0, -1):
        week = frame(count, PERIOD_START - timedelta(weeks=weeks), rng, with_texts=False)
        week["period"] = (PERIOD_START - timedelta(weeks=weeks)).date().isoformat()
        earlier.append(week)
    history = pd.concat(earlier, ignore_index=True)
    previous = earlier[-1]

    frames_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started, cpu_started = time.perf_counter(), time.process_time()
    from scoring.complaint_summary import load_summary_rules, summarise
    from scoring.summary_render import render_summary

    summary = summarise(
        current,
        period_start=PERIOD_START,
        period_end=PERIOD_START + timedelta(weeks=1),
        previous=previous,
        history=history,
        now=NOW,
        config=load_summary_rules(),
    )
    message = render_summary(summary, "ru")
    spent, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    detail = (
        f"{len(summary.themes)} themes, {len(summary.over_represented)} over-represented "
        f"({', '.join(item.name for item in summary.over_represented)}), "
        f"{summary.deadlines.breached} breached, {len(message)} chars"
    )
    out.put((spent, cpu, peak_mb, frames_mb, detail))


def measure(count: int, seed: int) -> tuple[float, float, float, float, str]:
    """One run in a fresh process: (wall s, CPU s, peak MB, MB before the summary, what the
    summary found)."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_run, args=(count, seed, queue))
    process.start()
    result: tuple[float, float, float, float, str] = queue.get(timeout=1200)
    process.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--complaints", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=1, help="runs; medians are reported")
    args = parser.parse_args()
    walls, cpus, peaks, before = [], [], [], []
    for run in range(args.repeat):
        spent, cpu, peak_mb, frames_mb, detail = measure(args.complaints, seed=run + 1)
        walls.append(spent)
        cpus.append(cpu)
        peaks.append(peak_mb)
        before.append(frames_mb)
        print(
            f"run {run + 1}: {spent:7.2f} s ({cpu:6.2f} s CPU), peak {peak_mb:5.0f} MB "
            f"({frames_mb:.0f} MB with the frames generated); {detail}",
            flush=True,
        )
    result = {
        "complaints": args.complaints,
        "summary_s": round(statistics.median(walls), 2),
        "peak_mb": round(max(peaks)),
        "cpu_s": round(statistics.median(cpus), 2),
        "frames_mb": round(max(before)),
        "runs": args.repeat,
    }
    print(json.dumps(result))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
