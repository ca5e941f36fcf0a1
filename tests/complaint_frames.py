"""Complaint frames for the summary tests, built from the kk/ru fixture corpus."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

CORPUS = Path(__file__).parent / "fixtures" / "complaints_kk_ru.yaml"
# the corpus' topics as the filing categories
CATEGORY_OF_THEME = {
    "queue": "waiting_time",
    "documents": "extra_documents",
    "rudeness": "rudeness",
    "deadline": "deadline_missed",
    "refusal": "unjustified_refusal",
    "egov": "unclear_information",
    "bribe": "corruption",
}
SERVICES = ("birth-registration", "address-registration", "benefit", "passport")


def corpus() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = yaml.safe_load(CORPUS.read_text(encoding="utf-8"))["complaints"]
    return rows


def personal_strings() -> list[str]:
    return [item for row in corpus() for item in row.get("personal", [])]


def complaints(
    offices: dict[str, int],
    *,
    received: datetime,
    agency: str = "MJ",
    start_id: int = 0,
) -> pd.DataFrame:
    """`sum(offices.values())` answered complaints received at `received`, texts cycling
    through the corpus, the given number per office; deadline 15 days later, answered in 5."""
    rows = corpus()
    records = []
    number = start_id
    for office, count in offices.items():
        for _ in range(count):
            source = rows[number % len(rows)]
            records.append(
                {
                    "complaint_id": number,
                    "agency": agency,
                    "received_at": received,
                    "category": CATEGORY_OF_THEME.get(source["theme"], "other"),
                    "service": SERVICES[number % len(SERVICES)],
                    "office": office,
                    "status": "answered",
                    "deadline": received + timedelta(days=15),
                    "answered_at": received + timedelta(days=5),
                    "text": source["text"],
                    "language": source["lang"],
                    "answer_rating": None,
                }
            )
            number += 1
    return pd.DataFrame.from_records(
        records,
        columns=[
            "complaint_id",
            "agency",
            "received_at",
            "category",
            "service",
            "office",
            "status",
            "deadline",
            "answered_at",
            "text",
            "language",
            "answer_rating",
        ],
    )


def weekly_history(weeks: list[dict[str, int]], *, first: datetime) -> pd.DataFrame:
    """Complaints of consecutive weeks starting at `first`, with a `period` column."""
    frames = []
    for number, offices in enumerate(weeks):
        start = first + timedelta(weeks=number)
        frame = complaints(offices, received=start, start_id=10_000 * (number + 1))
        frame["period"] = start.date().isoformat()
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)  # a Monday
PERIOD_START = datetime(2026, 11, 23, tzinfo=UTC)
