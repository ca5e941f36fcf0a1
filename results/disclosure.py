"""The disclosure rule of everything public: the minimum cell, read from `disclosure.yaml`."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from lined_yaml import load_with_lines

RULE_FILE = Path(__file__).with_name("disclosure.yaml")


@dataclass(frozen=True)
class DisclosureRule:
    """`minimum_cell`: fewer responses than this behind a figure and it is not shown."""

    version: str
    minimum_cell: int

    def shows(self, n: int) -> bool:
        return n >= self.minimum_cell


@cache
def disclosure_rule() -> DisclosureRule:
    """The shipped rule (read once; a new rule ships with a new release)."""
    document, _lines = load_with_lines(RULE_FILE.read_text(encoding="utf-8"))
    minimum = document["minimum_cell"]
    if not isinstance(minimum, int) or isinstance(minimum, bool) or minimum < 1:
        raise ValueError(f"{RULE_FILE.name}: minimum_cell must be a whole number of at least 1")
    return DisclosureRule(version=str(document["version"]), minimum_cell=minimum)
