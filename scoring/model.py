"""A validated methodology: the tree of nodes, its inputs, constants, tables and grade bands."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from scoring.formulas import Expr, LookupTable

Kind = Literal["central", "local"]
KINDS: tuple[Kind, ...] = ("central", "local")
Unit = Literal["count", "share", "points"]

UNIT_RANGE: Mapping[str, tuple[float, float]] = {
    "count": (0.0, math.inf),  # a whole number of things
    "share": (0.0, 1.0),  # a fraction, 0.7 for 70 %
    "points": (0.0, 100.0),  # a score already on the 0-100 scale
}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a file, printed as `file:line: message`."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class MethodologyError(ValueError):
    """A methodology file that must not be used; `problems` says where and why."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(problem) for problem in problems))
        self.problems = problems


@dataclass(frozen=True)
class InputSpec:
    """A named input: an official indicator, or a survey share with its sample size input."""

    name: str
    unit: Unit
    sample: str | None  # for survey shares: the input holding the number of responses
    about: str
    official_without_sample: bool = False  # may come as an official figure, without n
    scored: bool = True  # False: named and accepted in files, read by no formula

    @property
    def survey(self) -> bool:
        return self.sample is not None

    def valid(self, values: np.ndarray) -> np.ndarray:
        """Which values are usable: finite, within the unit's range, counts whole."""
        low, high = UNIT_RANGE[self.unit]
        with np.errstate(invalid="ignore"):
            ok = np.isfinite(values) & (values >= low) & (values <= high)
            if self.unit == "count":
                ok &= np.floor(values) == values
        return np.asarray(ok, dtype=bool)


@dataclass(frozen=True)
class GradeBand:
    """Scores from `lower` (inclusive) to `upper` (exclusive) get this grade."""

    key: str
    label: Mapping[str, str]
    lower: float  # -inf for the lowest band
    upper: float  # inf for the highest band


@dataclass(frozen=True)
class Node:
    """A node of the tree: a weighted combination of its children, or a formula."""

    key: str
    label: Mapping[str, str]
    about: str
    parent: str | None
    children: tuple[str, ...]
    weights: Mapping[str, float]  # its weight within the parent, per agency kind it applies to
    formula: Expr | None
    formula_text: str | None
    clamp: tuple[float, float] | None
    applies_to: frozenset[str]
    graded: bool
    depth: int
    sources: Mapping[str, str]  # field (weight, formula, clamp) -> source
    explain: Mapping[str, str] = field(default_factory=dict)  # plain words per language
    left_out_when_zero: tuple[str, ...] = ()  # inputs whose 0 makes the node not applicable
    weight_range: tuple[float, float] | None = None  # plausible weights (sensitivity)

    @property
    def weighted(self) -> bool:
        """True when the node is the weighted sum of its children."""
        return self.formula is None


@dataclass(frozen=True, eq=False)
class Methodology:
    """A validated methodology file. `hash` is the sha256 of the file's bytes."""

    name: str
    version: str
    title: Mapping[str, str]
    about: str
    explain: Mapping[str, str]  # plain words per language (empty when the file has none)
    file: str
    hash: str
    root: str
    nodes: Mapping[str, Node]  # tree pre-order: a parent before its children
    inputs: Mapping[str, InputSpec]
    constants: Mapping[str, float]
    tables: Mapping[str, LookupTable]
    grades: tuple[GradeBand, ...]  # ascending
    order: tuple[str, ...]  # evaluation order: every node after the nodes it reads
    reads: Mapping[str, tuple[str, ...]]  # node -> nodes it reads (children or formula names)
    needs: Mapping[str, Mapping[str, tuple[str, ...]]]  # node -> kind -> inputs, sorted
    constant_sources: Mapping[str, str] = field(default_factory=dict)
    ranges: Mapping[str, tuple[float, float]] = field(default_factory=dict)  # constant -> range

    def grade(self, values: pd.Series) -> pd.Series:
        """The grade key of each value by the bands; NaN gets no grade."""
        lowers = np.asarray([band.lower for band in self.grades], dtype="float64")
        keys = np.asarray([band.key for band in self.grades], dtype=object)
        numbers = values.to_numpy(dtype="float64", na_value=np.nan)
        position = np.searchsorted(lowers, np.nan_to_num(numbers, nan=-np.inf), side="right") - 1
        grades = np.where(
            np.isnan(numbers) | (position < 0), None, keys[np.clip(position, 0, None)]
        )
        return pd.Series(grades, index=values.index, dtype="str")

    def band(self, key: str) -> GradeBand:
        """The grade band with this key (for its labels)."""
        return next(band for band in self.grades if band.key == key)

    def survey_based(self, node: str, kind: str) -> bool:
        """Whether the node reads a survey share for agencies of this kind."""
        return any(self.inputs[name].survey for name in self.needs[node].get(kind, ()))
