"""Scores for every node of a methodology's tree, per agency and period, honest about evidence.

    result = score(methodology, inputs, agencies)        # long: one row per agency, period, node
    table = compare(score(kz_2020, …), score(proposed_s30, …))

`inputs` is the long format of indicator files, `agency, period, input, value`; `agencies` says
which agencies are central and which local (`agency, kind`). The computation loops over the nodes
of the tree, never over agencies: every node is evaluated for all agencies and periods at once.

What a row says (`status`):
- `ok`: `value` is the node's score; survey-based nodes also carry `n` (responses) and the interval
  `ci_low`..`ci_high` (Wilson 95 % for each survey share, carried through the formulas; see
  scoring/intervals.py);
- `insufficient_sample`: the node reads a survey share measured on fewer than `min_sample`
  responses; `n` says how many, there is no value;
- `missing`: an input the node needs is absent, out of its unit's range, or given twice with
  different values (`missing_inputs` lists them; `kind` when the agency's kind is unknown), or the
  arithmetic is undefined (a division by zero: `missing_inputs` is empty);
- `not_applicable`: the node does not apply to the agency's kind (K3 automation for a local body).
A node above a node without a value has no value either: nothing is computed from partial data.
Values are rounded to 6 decimals and graded after rounding, so the same inputs give the same
output to the last digit, whatever the order of the input rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from scoring import formulas
from scoring.evidence import wilson_interval
from scoring.formulas import Array
from scoring.intervals import interval_arrays
from scoring.model import KINDS, Methodology, Node

INPUT_COLUMNS = ("agency", "period", "input", "value")
AGENCY_COLUMNS = ("agency", "kind")
SCORE_COLUMNS = (
    "agency",
    "period",
    "node",
    "value",
    "grade",
    "n",
    "ci_low",
    "ci_high",
    "status",
    "missing_inputs",
)
OK = "ok"
INSUFFICIENT_SAMPLE = "insufficient_sample"
MISSING = "missing"
NOT_APPLICABLE = "not_applicable"
STATUSES = (OK, INSUFFICIENT_SAMPLE, MISSING, NOT_APPLICABLE)
DECIMALS = 6
DEFAULT_MIN_SAMPLE = 100


class ScoringInputError(ValueError):
    """A frame that does not have the columns the scoring contract needs."""


def _require(frame: pd.DataFrame, columns: tuple[str, ...], what: str) -> None:
    absent = [column for column in columns if column not in frame.columns]
    if absent:
        raise ScoringInputError(
            f"{what} need columns {', '.join(columns)}; missing: {', '.join(absent)}"
        )


# --- inputs ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Inputs:
    """Declared inputs, one array per input over the (agency, period) grid, NaN when unusable."""

    index: pd.MultiIndex  # (agency, period), sorted
    values: Mapping[str, Array]
    low: Mapping[str, Array]  # survey shares: lower Wilson bound; other inputs: the value
    high: Mapping[str, Array]
    kinds: Array  # "central", "local", or "" when unknown

    @property
    def size(self) -> int:
        return len(self.index)


def _keys(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    frame = frame.loc[frame[columns].notna().all(axis=1)].copy()
    for column in columns:
        frame[column] = frame[column].astype(str).str.strip()
    return frame


def _inputs(methodology: Methodology, inputs: pd.DataFrame, agencies: pd.DataFrame) -> _Inputs:
    _require(inputs, INPUT_COLUMNS, "inputs")
    _require(agencies, AGENCY_COLUMNS, "agencies")
    rows = _keys(inputs.loc[:, list(INPUT_COLUMNS)], ["agency", "period", "input"])
    rows["value"] = formulas.finite(
        pd.to_numeric(rows["value"], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    )
    known = _keys(agencies.loc[:, list(AGENCY_COLUMNS)], ["agency"])
    names = sorted(set(known["agency"]) | set(rows["agency"]))
    periods = sorted(set(rows["period"]))
    index = pd.MultiIndex.from_product([names, periods], names=["agency", "period"])

    declared = list(methodology.inputs)
    rows = rows.loc[rows["input"].isin(declared)]
    grouped = rows.groupby(["agency", "period", "input"], sort=True)["value"]
    # the same input given twice with different values is unusable, not a coin toss
    agreed = grouped.first().where(grouped.nunique(dropna=False) <= 1)
    if len(agreed):
        wide = agreed.unstack("input").reindex(index=index, columns=declared)
    else:
        wide = pd.DataFrame(np.nan, index=index, columns=declared)
    matrix = wide.to_numpy(dtype="float64", na_value=np.nan)

    values: dict[str, Array] = {}
    for position, (name, spec) in enumerate(methodology.inputs.items()):
        column = matrix[:, position]
        values[name] = np.where(spec.valid(column), column, np.nan)
    low, high = dict(values), dict(values)
    shares = [(name, spec.sample) for name, spec in methodology.inputs.items() if spec.sample]
    if shares:  # one Wilson computation for all survey shares, stacked end to end
        n = np.concatenate([values[sample] for _, sample in shares])
        share = np.concatenate([values[name] for name, _ in shares])
        lower, upper = wilson_interval(pd.Series(share * n), pd.Series(n))
        for position, (name, _) in enumerate(shares):
            part = slice(position * len(index), (position + 1) * len(index))
            low[name] = lower.to_numpy(dtype="float64", na_value=np.nan)[part]
            high[name] = upper.to_numpy(dtype="float64", na_value=np.nan)[part]
    return _Inputs(index, values, low, high, _kinds(index, known))


def _kinds(index: pd.MultiIndex, agencies: pd.DataFrame) -> Array:
    kind = agencies["kind"].astype(str).str.strip().str.lower()
    pairs = pd.DataFrame({"agency": agencies["agency"], "kind": kind.where(kind.isin(KINDS), "")})
    pairs = pairs.drop_duplicates()
    # an agency listed with two different kinds has no known kind
    pairs.loc[pairs["agency"].duplicated(keep=False), "kind"] = ""
    agreed = pairs.drop_duplicates("agency").set_index("agency")["kind"]
    mapped = pd.Series(index.get_level_values("agency")).map(agreed)
    return np.asarray(mapped.fillna("").astype(str).to_numpy(), dtype=object)


# --- nodes -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Result:
    value: Array  # NaN unless the status is ok
    low: Array  # bounds for parents: the interval on survey rows, the value elsewhere
    high: Array
    n: Array  # responses behind a survey-based row, NaN elsewhere
    survey: Array  # bool: the row reads a survey share
    status: Array  # object
    missing: Array  # object: comma-separated inputs


def _weighted(
    node: Node, methodology: Methodology, results: Mapping[str, _Result], kinds: Array, part: str
) -> Array:
    total = np.zeros(len(kinds), dtype="float64")
    for key in node.children:
        weight = np.zeros(len(kinds), dtype="float64")
        for kind, value in methodology.nodes[key].weights.items():
            weight = np.where(kinds == kind, value, weight)
        child: Array = getattr(results[key], part)
        with np.errstate(invalid="ignore"):
            total = total + np.where(weight > 0, weight * child, 0.0)
    return total


def _formula_value(
    node: Node, methodology: Methodology, data: _Inputs, results: Mapping[str, _Result]
) -> Array:
    assert node.formula is not None
    columns: dict[str, Array | float] = {}
    for name in {reference.name for reference in formulas.references(node.formula)}:
        if name in methodology.constants:
            columns[name] = methodology.constants[name]
        elif name in results:
            columns[name] = results[name].value
        else:
            columns[name] = data.values[name]
    return formulas.evaluate_arrays(node.formula, columns, methodology.tables, data.size)


def _formula_bounds(
    node: Node, methodology: Methodology, data: _Inputs, results: Mapping[str, _Result]
) -> tuple[Array, Array]:
    assert node.formula is not None
    bounds: dict[str, tuple[Array, Array]] = {}
    for name in {reference.name for reference in formulas.references(node.formula)}:
        if name in methodology.constants:
            constant = np.full(data.size, methodology.constants[name], dtype="float64")
            bounds[name] = (constant, constant)
        elif name in results:
            bounds[name] = (results[name].low, results[name].high)
        else:
            bounds[name] = (data.low[name], data.high[name])
    return interval_arrays(node.formula, bounds, methodology.tables, data.size)


def _evidence(
    node: Node, methodology: Methodology, data: _Inputs
) -> tuple[Array, Array, Array, Array]:
    """Per row: does an input lack (bool), which (text), is it survey-based (bool), its n."""
    lacking = np.zeros(data.size, dtype=bool)
    missing = np.full(data.size, "", dtype=object)
    survey = np.zeros(data.size, dtype=bool)
    n = np.full(data.size, np.nan)
    for kind in sorted(node.applies_to):
        rows = data.kinds == kind
        needed = methodology.needs[node.key][kind]
        for name in needed:
            absent = rows & np.isnan(data.values[name])
            if absent.any():
                lacking |= absent
                missing = missing + np.where(absent, f"{name},", "").astype(object)
        samples = sorted({s for s in (methodology.inputs[x].sample for x in needed) if s})
        if samples:
            survey |= rows
            smallest = np.min(np.vstack([data.values[s] for s in samples]), axis=0)
            n = np.where(rows, smallest, n)
    return lacking, missing, survey, n


def _node(
    node: Node,
    methodology: Methodology,
    data: _Inputs,
    results: Mapping[str, _Result],
    min_sample: int,
) -> _Result:
    kinds = data.kinds
    lacking, missing, survey, n = _evidence(node, methodology, data)
    if node.weighted:
        value = _weighted(node, methodology, results, kinds, "value")
    else:
        value = _formula_value(node, methodology, data, results)
    if survey.any():
        if node.weighted:
            low = _weighted(node, methodology, results, kinds, "low")
            high = _weighted(node, methodology, results, kinds, "high")
        else:
            low, high = _formula_bounds(node, methodology, data, results)
        low, high = np.where(survey, low, value), np.where(survey, high, value)
    else:
        low, high = value, value
    if node.clamp is not None:
        value, low, high = (np.clip(array, *node.clamp) for array in (value, low, high))

    known = kinds != ""
    with np.errstate(invalid="ignore"):
        small = survey & ~(n >= min_sample)
    status = np.select(
        [~known, ~np.isin(kinds, sorted(node.applies_to)), lacking, small, np.isnan(value)],
        [MISSING, NOT_APPLICABLE, MISSING, INSUFFICIENT_SAMPLE, MISSING],
        OK,
    ).astype(object)
    ok = status == OK
    missing = np.where(known, missing, "kind,").astype(object)
    missing = np.where(status == MISSING, missing, "").astype(object)
    if (missing != "").any():
        missing = pd.Series(missing, dtype=object).str.rstrip(",").to_numpy(dtype=object)
    return _Result(
        value=np.where(ok, value, np.nan),
        low=np.where(ok, low, np.nan),
        high=np.where(ok, high, np.nan),
        n=n,
        survey=survey,
        status=status,
        missing=missing,
    )


# --- the public functions ----------------------------------------------------------------------


def score(
    methodology: Methodology,
    inputs: pd.DataFrame,
    agencies: pd.DataFrame,
    min_sample: int = DEFAULT_MIN_SAMPLE,
) -> pd.DataFrame:
    """Score every node of `methodology` for every agency and period in the inputs.

    inputs: long format, columns `agency, period, input, value` (other columns are ignored, inputs
    the methodology does not declare too). agencies: columns `agency, kind` (kind `central` or
    `local`). Every agency of either frame is scored for every period of the inputs.

    Returns columns `agency, period, node, value, grade, n, ci_low, ci_high, status,
    missing_inputs`, sorted by agency, period and the tree's order (a parent before its children).
    Agency and period are text; `n` is a nullable integer; `grade` is a band key (`high`, …) on
    graded nodes with a value. See the module docstring for the statuses.
    """
    data = _inputs(methodology, inputs, agencies)
    results: dict[str, _Result] = {}
    for key in methodology.order:
        results[key] = _node(methodology.nodes[key], methodology, data, results, min_sample)
    return _long(methodology, data, results)


def _round(values: Array) -> Array:
    return np.round(values, DECIMALS) + 0.0  # + 0.0 turns -0.0 into 0.0


def _long(methodology: Methodology, data: _Inputs, results: Mapping[str, _Result]) -> pd.DataFrame:
    keys = list(methodology.nodes)
    size = data.size

    def stacked(part: str) -> Array:
        if not size:
            return np.empty(0)
        return np.stack([getattr(results[key], part) for key in keys], axis=1).ravel()

    value = _round(stacked("value").astype("float64"))
    survey = stacked("survey").astype(bool)
    ok = stacked("status") == OK
    graded = np.tile([methodology.nodes[key].graded for key in keys], size)
    grade = methodology.grade(pd.Series(np.where(graded, value, np.nan)))
    n = stacked("n").astype("float64")
    frame = pd.DataFrame(
        {
            "agency": np.repeat(data.index.get_level_values("agency").to_numpy(), len(keys)),
            "period": np.repeat(data.index.get_level_values("period").to_numpy(), len(keys)),
            "node": np.tile(np.asarray(keys, dtype=object), size),
            "value": value,
            "grade": grade.to_numpy(),
            # a sample size is a finite whole number an Int64 holds (junk input is not)
            "n": pd.array(
                np.where(survey & np.isfinite(n) & (abs(n) < 2**53), n, np.nan), dtype="Int64"
            ),
            "ci_low": np.where(survey & ok, _round(stacked("low").astype("float64")), np.nan),
            "ci_high": np.where(survey & ok, _round(stacked("high").astype("float64")), np.nan),
            "status": stacked("status"),
            "missing_inputs": stacked("missing"),
        }
    )
    for column in ("agency", "period", "node", "grade", "status", "missing_inputs"):
        frame[column] = frame[column].astype("str")
    return frame.loc[:, list(SCORE_COLUMNS)]


def compare(
    result_a: pd.DataFrame,
    result_b: pd.DataFrame,
    node: str = "total",
    agencies: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Put two scorings side by side: per agency and period, both values, grades, ranks.

    Columns `agency, period, value_a, grade_a, status_a, rank_a, value_b, grade_b, status_b,
    rank_b, rank_change` (and `kind` after `period` when `agencies` is given: ranks are then
    within central and within local bodies, otherwise over all agencies of a period). Rank 1 is the
    highest value; ties share the better rank; no value, no rank. `rank_change` is
    `rank_a - rank_b`: positive when the agency climbs under methodology b.
    """
    picked = []
    for result, suffix in ((result_a, "_a"), (result_b, "_b")):
        _require(result, ("agency", "period", "node", "value", "grade", "status"), "results")
        rows = result.loc[result["node"] == node, ["agency", "period", "value", "grade", "status"]]
        picked.append(rows.rename(columns={c: c + suffix for c in ("value", "grade", "status")}))
    merged = picked[0].merge(picked[1], on=["agency", "period"], how="outer")
    groups = ["period"]
    if agencies is not None:
        _require(agencies, AGENCY_COLUMNS, "agencies")
        kind = dict(zip(agencies["agency"].astype(str), agencies["kind"].astype(str), strict=False))
        merged.insert(2, "kind", merged["agency"].map(kind).fillna("").astype("str"))
        groups.append("kind")
    for suffix in ("_a", "_b"):
        ranks = merged.groupby(groups)["value" + suffix].rank(method="min", ascending=False)
        merged["rank" + suffix] = ranks.astype("Int64")
    merged["rank_change"] = merged["rank_a"] - merged["rank_b"]
    columns = [
        *["agency", "period"],
        *(["kind"] if agencies is not None else []),
        *["value_a", "grade_a", "status_a", "rank_a"],
        *["value_b", "grade_b", "status_b", "rank_b", "rank_change"],
    ]
    ordered = merged.sort_values([*groups, "agency"], kind="stable").reset_index(drop=True)
    return ordered.loc[:, columns]
