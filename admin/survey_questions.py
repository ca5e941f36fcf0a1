"""Which question of each survey carries which metric, read from the survey files (data): the
explorer filters by the `satisfaction` answer and shows the `comment` text whatever a survey
names those questions."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

YES_NO = {
    True: {"kk": "иә", "ru": "да", "en": "yes"},
    False: {"kk": "жоқ", "ru": "нет", "en": "no"},
}


@dataclass(frozen=True)
class SurveyQuestions:
    by_metric: dict[str, frozenset[str]]  # metric -> question names, over every survey
    text_questions: frozenset[str]  # free-text questions (scrubbed before anyone reads them)
    # question -> language -> its wording; question -> choice -> language -> the choice's label
    labels: dict[str, dict[str, str]] = field(default_factory=dict)
    choices: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)

    def named(self, metric: str) -> frozenset[str]:
        return self.by_metric.get(metric, frozenset())

    def question_label(self, question: str, lang: str) -> str:
        """The question as the survey asks it in `lang` (its name if no survey has it)."""
        texts = self.labels.get(question, {})
        return texts.get(lang) or texts.get("ru") or question

    def value_label(self, question: str, value: object, lang: str) -> str:
        """An answer in words: a choice's label, yes or no, a number or text as given."""
        if value in ("yes", "no") and question not in self.choices:
            value = value == "yes"  # a yes/no answer as some channels store it
        if isinstance(value, bool):
            return YES_NO[value][lang if lang in YES_NO[value] else "ru"]
        if isinstance(value, list):
            return ", ".join(self.value_label(question, item, lang) for item in value)
        label = self.choices.get(question, {}).get(str(value))
        if label:
            return label.get(lang) or label.get("ru") or str(value)
        return "" if value is None else str(value)


@cache
def survey_questions(directory: Path) -> SurveyQuestions:
    by_metric: dict[str, set[str]] = {}
    texts: set[str] = set()
    labels: dict[str, dict[str, str]] = {}
    choices: dict[str, dict[str, dict[str, str]]] = {}
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
            if isinstance(question.get("label"), dict):
                labels.setdefault(name, {str(k): str(v) for k, v in question["label"].items()})
            for choice in question.get("choices", []) or []:
                if isinstance(choice, dict) and isinstance(choice.get("label"), dict):
                    choices.setdefault(name, {})[str(choice.get("name"))] = {
                        str(k): str(v) for k, v in choice["label"].items()
                    }
    return SurveyQuestions(
        {metric: frozenset(names) for metric, names in by_metric.items()},
        frozenset(texts),
        labels,
        choices,
    )
