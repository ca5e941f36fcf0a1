"""Complaint text analytics for one agency's period: 100,000 complaints, themes and quotes.

Run it from the project root; it needs nothing but the installed packages::

    .venv/bin/python -m benchmarks.complaint_text                # 100,000 complaints
    .venv/bin/python -m benchmarks.complaint_text --complaints 10000

How it is run: the complaints are generated first (Kazakh, Russian and English sentences of
the test corpus, cut and recombined with filler words, so nearly every text is distinct, and
one in ten carries an IIN, a phone or a name). Each measured step runs in a fresh process of
its own (``multiprocessing`` spawn), so the peak memory it reports (the child's maximum
resident set) is that step's with the libraries loaded, and no cache of an earlier step
helps it. The baseline, in the same run, is a plain pandas pass over the same texts (lower
case and split into words), so the ratios mean the same on a slower or busier machine.

What is measured, in seconds, with the libraries' load time included:

- ``scrub_s``: :func:`scoring.privacy.scrub` of every text;
- ``languages_s``: :func:`scoring.text.detect_languages` of every text;
- ``themes_s``: :func:`scoring.text.themes` with languages detected (it scrubs too);
- ``themes_known_languages_s``: the same with the languages given, as when they were stored
  with each complaint at filing time;
- ``peak_mb``: the largest peak resident memory of those processes;
- ``*_cpu_s``: the CPU seconds of each step, for comparison on a shared machine.

The last line is one JSON object with these figures and their ratios to the baseline.
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
from pathlib import Path
from typing import Any

import yaml

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "complaints_kk_ru.yaml"
FILLERS = {
    "ru": ["сегодня", "вчера", "опять", "снова", "утром", "вечером", "очень", "уже", "честно"],
    "kk": ["бүгін", "кеше", "тағы", "қайтадан", "таңертең", "кешке", "өте", "шынымен"],
    "en": ["today", "yesterday", "again", "really", "this morning", "honestly"],
}
PERSONAL = [
    "мой ИИН 850115300120",
    "тел. 8 (701) 555-33-22",
    "меня зовут Алия Сапарова",
    "менің атым Айгерім",
    "call me at +7 707 123 45 67",
]


def generate(count: int, seed: int = 1) -> tuple[list[str], list[str]]:
    """``count`` complaint texts and their languages, mostly distinct."""
    rows = yaml.safe_load(CORPUS.read_text(encoding="utf-8"))["complaints"]
    by_lang: dict[str, list[list[str]]] = {}
    for row in rows:
        by_lang.setdefault(row["lang"], []).append(row["text"].rstrip(".").split())
    rng = random.Random(seed)
    texts, langs = [], []
    for _ in range(count):
        lang = rng.choices(["ru", "kk", "en"], weights=[55, 40, 5])[0]
        first, second = rng.choice(by_lang[lang]), rng.choice(by_lang[lang])
        words = first[: rng.randint(3, len(first))] + second[rng.randint(0, len(second) // 2) :]
        for _ in range(rng.randint(1, 3)):
            words.insert(rng.randrange(len(words) + 1), rng.choice(FILLERS[lang]))
        if rng.random() < 0.1:
            words.insert(rng.randrange(len(words) + 1), rng.choice(PERSONAL) + ",")
        texts.append(" ".join(words) + ".")
        langs.append(lang)
    return texts, langs


def _step(name: str, texts: list[str], langs: list[str], out: Any) -> None:
    import pandas as pd

    series = pd.Series(texts)
    started = time.perf_counter()
    cpu_started = time.process_time()
    detail = ""
    if name == "baseline":
        series.str.lower().str.split()
    elif name == "scrub":
        from scoring.privacy import scrub

        [scrub(text) for text in texts]
    elif name == "languages":
        from scoring.text import detect_languages

        detect_languages(series)
    else:
        from scoring.text import themes

        languages = pd.Series(langs) if name == "themes_known_languages" else None
        found = themes(series, languages=languages, max_themes=10, seed=0)
        detail = "; ".join(f"{t.size} {'/'.join(t.label[:2])}" for t in found[:5])
    spent = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out.put((spent, cpu, peak_mb, detail))


def measure(name: str, texts: list[str], langs: list[str]) -> tuple[float, float, float, str]:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_step, args=(name, texts, langs, queue))
    process.start()
    result: tuple[float, float, float, str] = queue.get(timeout=600)
    process.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--complaints", type=int, default=100_000)
    args = parser.parse_args()
    texts, langs = generate(args.complaints)
    average = statistics.mean(map(len, texts))
    print(f"{len(texts)} complaints, {len(set(texts))} distinct, {average:.0f} chars on average")
    figures: dict[str, float] = {}
    cpu_figures: dict[str, float] = {}
    peaks = []
    for name in ["baseline", "scrub", "languages", "themes", "themes_known_languages"]:
        spent, cpu, peak_mb, detail = measure(name, texts, langs)
        figures[f"{name}_s"] = round(spent, 2)
        cpu_figures[f"{name}_cpu_s"] = round(cpu, 2)
        if name != "baseline":
            peaks.append(peak_mb)
        print(
            f"{name:>24}: {spent:7.2f} s ({cpu:6.2f} s CPU), peak {peak_mb:5.0f} MB  {detail}",
            flush=True,
        )
    baseline = max(figures.pop("baseline_s"), 1e-3)
    result: dict[str, Any] = {"complaints": len(texts), **figures}
    result["peak_mb"] = round(max(peaks))
    result["themes_ratio"] = round(figures["themes_s"] / baseline, 1)
    result["baseline_s"] = round(baseline, 3)
    result.update(cpu_figures)
    print(json.dumps(result))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
