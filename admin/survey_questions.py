"""Which question of each survey carries which metric, read from the survey files (data): the
explorer filters by the `satisfaction` answer and shows the `comment` text whatever a survey
names those questions."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml


@dataclass(frozen=True)
class SurveyQuestions:
    by_metric: dict[str, frozenset[str]]  # metric -> question names, over every survey
    text_questions: frozenset[str]  # free-text questions (scrubbed before anyone reads them)

    def named(self, metric: str) -> frozenset[str]:
        return self.by_metric.get(metric, frozenset())


@cache
def survey_questions(directory: Path) -> SurveyQuestions:
    by_metric: dict[str, set[str]] = {}
    texts: set[str] = set()
    for path in sorted(directory.glob("*.yaml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for question in document.get("questions", []) or []:
            if not isinstance(question, dict) or "name" not in question:
                continue
            name = str(question["name"])
            if question.get("metric"):
                by_metric.setdefault(str(question["metric"]), set()).add(name)
            if question.get("type") == "text":
                texts.add(name)
    return SurveyQuestions(
        {metric: frozenset(names) for metric, names in by_metric.items()}, frozenset(texts)
    )
