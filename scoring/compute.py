"""Scores for every node of a methodology's tree, per agency and period, honest about evidence.

    result = score(methodology, inputs, agencies)        # long: one row per agency, period, node
    table = compare(score(kz_2020, …), score(proposed_s30, …))

`inputs` is the long format of indicator files, `agency, period, input, value`; `agencies` says
which agencies are central and which local (`agency, kind`). The computation loops over the nodes
of the tree, never over agencies: every node is evaluated for all agencies and periods at once.

What a row says (`status`), and why (`reason`, see scoring.explain for the words):
- `ok`: `value` is the node's score from everything it is made of; survey-based nodes also carry
  `n` (the node's own sample: responses, or data-set ratings) and the interval `ci_low`..`ci_high`
  (Wilson 95 % for each survey share, carried through the formulas; see scoring/intervals.py);
- `provisional`: `value` is computed from what is known, but a part of the node has no value
  (an input nobody supplied, a survey share on too small a sample): the parts with a value are
  re-weighted to keep the node's scale, and `reason` names the parts left without;
- `insufficient_sample`: the node reads a survey share measured by this product's survey on fewer
  than `min_sample` responses; `n` says how many, there is no value (an official figure imported
  as such, a share without its sample where the methodology allows it, is not held to this);
- `missing`: an input the node needs was not supplied, is out of its unit's range, or is given
  twice with different values (`missing_inputs` lists them; `kind` when the agency's kind is
  unknown), or the arithmetic is undefined (`reason` is `undefined`);
- `not_applicable`: the node does not apply to this body (K3 automation for a local body, open
  data for a body that planned no data sets): it is left out and its siblings are re-weighted to
  keep the parent's scale; the parent stays `ok`, its `reason` says which part was left out.
A weighted node has a value when at least one part has one; a node with a formula has a value
only when everything it reads has one. Values are rounded to 6 decimals and graded after
rounding, so the same inputs give the same output to the last digit, whatever the row order.

`reason` is language-free: items `code` or `code:args` joined by "; " (REASON_CODES).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

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
    "reason",
)
OK = "ok"
PROVISIONAL = "provisional"
INSUFFICIENT_SAMPLE = "insufficient_sample"
MISSING = "missing"
NOT_APPLICABLE = "not_applicable"
STATUSES = (OK, PROVISIONAL, INSUFFICIENT_SAMPLE, MISSING, NOT_APPLICABLE)
VALUED = (OK, PROVISIONAL)  # statuses whose rows carry a value
# What `reason` items mean (their words in kk, ru and en are in scoring.explain):
REASON_CODES = {
    "kind_unknown": "the body's kind (central or local) is not known",
    "kind": "does not apply to bodies of this kind (args: the kind)",
    "zero": "left out: these inputs are 0 (args: inputs)",
    "inputs_missing": "these inputs were not supplied or are unusable (args: inputs)",
    "sample": "survey sample below the minimum (args: n/minimum)",
    "undefined": "the arithmetic is undefined for these inputs (a division by zero)",
    "left_out": "parts left out as not applicable, the rest re-weighted (args: nodes)",
    "without": "parts without a value, the rest re-weighted: provisional (args: nodes)",
    "provisional": "parts that are themselves provisional (args: nodes)",
    "reads": "reads parts without a value (args: nodes)",
}
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


def prepare(methodology: Methodology, inputs: pd.DataFrame, agencies: pd.DataFrame) -> _Inputs:
    """The inputs as arrays over the (agency, period) grid (internal to scoring)."""
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


# --- parameters: the numbers an assumption may move ------------------------------------------


@dataclass(frozen=True)
class Parameters:
    """Constants and weights per row: the methodology's own, or drawn (scoring.sensitivity).

    `constants` maps a constant to one number or an array over the rows; `weights` maps a node
    to its weight in its parent on every row (0 where it does not apply to the row's kind)."""

    constants: Mapping[str, Array | float]
    weights: Mapping[str, Array]


def weight_arrays(methodology: Methodology, kinds: Array) -> dict[str, Array]:
    """Each node's weight within its parent on each row, by the row's kind (0: not applicable)."""
    result: dict[str, Array] = {}
    for key, node in methodology.nodes.items():
        weight = np.zeros(len(kinds), dtype="float64")
        for kind, value in node.weights.items():
            weight = np.where(kinds == kind, value, weight)
        result[key] = weight
    return result


def own_parameters(methodology: Methodology, kinds: Array) -> Parameters:
    """The methodology's constants and weights, as written in its file."""
    return Parameters(dict(methodology.constants), weight_arrays(methodology, kinds))


# --- nodes -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Result:
    value: Array  # NaN unless the status is ok or provisional
    low: Array  # bounds for parents: the interval on survey rows, the value elsewhere
    high: Array
    n: Array  # the node's own sample behind a survey-based row, NaN elsewhere
    survey: Array  # bool: the row reads a survey share
    status: Array  # object
    missing: Array  # object: comma-separated inputs
    reason: Array = field(default_factory=lambda: np.empty(0, dtype=object))  # object
    # the sample input behind `n` ("" none, "*" several: then the row shows no n of its own)
    sample: Array = field(default_factory=lambda: np.empty(0, dtype=object))


def _same_sample(a: Array, b: Array) -> Array:
    """Which sample two parts share: the one, "" when neither has one, "*" when they differ."""
    return np.where((a == b) | (b == ""), a, np.where(a == "", b, "*")).astype(object)


def _join(reason: Array, condition: Array, item: Array | str) -> Array:
    """Append `item` to `reason` where `condition` holds ("; " between items)."""
    glue = np.where(reason == "", "", "; ").astype(object)
    return np.where(condition, reason + glue + item, reason).astype(object)


def _names(condition_by_name: list[tuple[str, Array]], size: int) -> Array:
    """Per row, the comma-separated names whose condition holds."""
    text = np.full(size, "", dtype=object)
    for name, condition in condition_by_name:
        glue = np.where(text == "", "", ",").astype(object)
        text = np.where(condition, text + glue + name, text).astype(object)
    return text


def _valued(status: Array) -> Array:
    return np.asarray((status == OK) | (status == PROVISIONAL), dtype=bool)


def _direct(
    node: Node, methodology: Methodology, data: _Inputs, min_sample: int, reasons: bool = True
) -> tuple[Array, Array, Array, Array, Array, Array]:
    """The inputs a formula reads itself: lacking (bool), which (text), survey (bool), n, small
    (below the minimum sample), and which sample input n comes from."""
    size = data.size
    assert node.formula is not None
    names = sorted(
        {ref.name for ref in formulas.references(node.formula) if ref.name in methodology.inputs}
    )
    absent: list[tuple[str, Array]] = []
    survey = np.zeros(size, dtype=bool)
    n = np.full(size, np.nan)
    sample_of = np.full(size, "", dtype=object)
    for name in names:
        spec = methodology.inputs[name]
        lacks = np.isnan(data.values[name])
        if spec.sample is not None:
            sample = data.values[spec.sample]
            no_sample = np.isnan(sample)
            official = ~lacks & no_sample if spec.official_without_sample else np.zeros(size, bool)
            absent.append((spec.sample, no_sample & ~official & ~lacks))
            measured = ~lacks & ~no_sample
            survey |= measured
            sample_of = _same_sample(sample_of, np.where(measured, spec.sample, "").astype(object))
            with np.errstate(invalid="ignore"):
                n = np.where(measured, np.fmin(n, sample), n)
        absent.append((name, lacks))
    lacking = np.zeros(size, dtype=bool)
    for _, condition in absent:
        lacking |= condition
    missing = _names(sorted(absent), size) if reasons else np.full(size, "", dtype=object)
    with np.errstate(invalid="ignore"):
        small = survey & ~(n >= min_sample)
    return lacking, missing, survey, n, small, sample_of


def _formula_node(
    node: Node,
    methodology: Methodology,
    data: _Inputs,
    results: Mapping[str, _Result],
    min_sample: int,
    params: Parameters,
    reasons: bool = True,
) -> _Result:
    assert node.formula is not None
    size = data.size
    lacking, missing, survey, n, small, sample = _direct(
        node, methodology, data, min_sample, reasons
    )
    reads = methodology.reads[node.key]
    columns: dict[str, Array | float] = {}
    bounds: dict[str, tuple[Array, Array]] = {}
    for name in {reference.name for reference in formulas.references(node.formula)}:
        if name in methodology.constants:
            constant = params.constants.get(name, methodology.constants[name])
            columns[name] = constant
            full = np.broadcast_to(np.asarray(constant, dtype="float64"), (size,))
            bounds[name] = (full, full)
        elif name in results:
            columns[name] = results[name].value
            bounds[name] = (results[name].low, results[name].high)
        else:
            columns[name] = data.values[name]
            bounds[name] = (data.low[name], data.high[name])
    value = formulas.evaluate_arrays(node.formula, columns, methodology.tables, size)
    child_status = [(key, results[key].status) for key in reads]
    for key in reads:
        survey = survey | results[key].survey
        sample = _same_sample(sample, results[key].sample)
        with np.errstate(invalid="ignore"):
            n = np.where(results[key].survey, np.fmin(n, results[key].n), n)
    if survey.any():
        low, high = interval_arrays(node.formula, bounds, methodology.tables, size)
        low, high = np.where(survey, low, value), np.where(survey, high, value)
    else:
        low, high = value, value
    if node.clamp is not None:
        value, low, high = (np.clip(array, *node.clamp) for array in (value, low, high))

    # what the formula reads decides its status: the worst of its parts
    any_na, any_small, any_absent, any_provisional = (np.zeros(size, dtype=bool) for _ in "1234")
    for _, st in child_status:
        any_na |= st == NOT_APPLICABLE
        any_small |= st == INSUFFICIENT_SAMPLE
        any_absent |= st == MISSING
        any_provisional |= st == PROVISIONAL
    status = np.select(
        [lacking, any_absent, small | any_small, any_na, np.isnan(value)],
        [MISSING, MISSING, INSUFFICIENT_SAMPLE, NOT_APPLICABLE, MISSING],
        np.where(any_provisional, PROVISIONAL, OK),
    ).astype(object)
    reason = np.full(size, "", dtype=object)
    if reasons:
        reads_without = _names(
            [(k, (st == MISSING) | (st == INSUFFICIENT_SAMPLE)) for k, st in child_status], size
        )
        na = _names([(k, st == NOT_APPLICABLE) for k, st in child_status], size)
        provisional = _names([(k, st == PROVISIONAL) for k, st in child_status], size)
        sample_text = np.char.mod("%d", np.nan_to_num(n, nan=0).clip(0, 2**53)).astype(object)
        reason = _join(reason, lacking, "inputs_missing:" + missing)
        reason = _join(reason, any_absent | any_small, "reads:" + reads_without)
        reason = _join(reason, small & ~lacking, "sample:" + sample_text + f"/{min_sample}")
        reason = _join(reason, any_na, "left_out:" + na)
        reason = _join(reason, (status == MISSING) & (reason == ""), "undefined")
        reason = _join(reason, status == PROVISIONAL, "provisional:" + provisional)
    n = np.where(sample == "*", np.nan, n)
    return _Result(value, low, high, n, survey, status, missing, reason, sample)


def _weighted_node(
    node: Node,
    results: Mapping[str, _Result],
    size: int,
    params: Parameters,
    reasons: bool = True,
) -> _Result:
    total, low, high, weights = (np.zeros(size) for _ in range(4))
    n = np.full(size, np.nan)
    sample = np.full(size, "", dtype=object)
    survey = np.zeros(size, dtype=bool)
    left_out: list[tuple[str, Array]] = []
    without: list[tuple[str, Array]] = []
    provisional: list[tuple[str, Array]] = []
    insufficient = np.zeros(size, dtype=bool)
    absent = np.zeros(size, dtype=bool)
    partial = np.zeros(size, dtype=bool)
    for key in node.children:
        child = results[key]
        weight = params.weights[key]
        counts = weight > 0
        has = counts & _valued(child.status)
        used = np.where(has, weight, 0.0)
        total += used * np.nan_to_num(child.value)
        low += used * np.nan_to_num(child.low)
        high += used * np.nan_to_num(child.high)
        weights += used
        survey |= has & child.survey
        sample = _same_sample(sample, np.where(has, child.sample, "").astype(object))
        with np.errstate(invalid="ignore"):
            n = np.where(has & child.survey, np.fmin(n, child.n), n)
        small, lacks = (
            counts & (child.status == INSUFFICIENT_SAMPLE),
            counts & (child.status == MISSING),
        )
        insufficient |= small
        absent |= lacks
        partial |= small | lacks | (counts & (child.status == PROVISIONAL))
        if reasons:
            left_out.append((key, counts & (child.status == NOT_APPLICABLE)))
            without.append((key, small | lacks))
            provisional.append((key, counts & (child.status == PROVISIONAL)))
    none = weights <= 0
    with np.errstate(invalid="ignore", divide="ignore"):
        value = np.where(none, np.nan, total / np.where(none, 1.0, weights))
        low = np.where(none, np.nan, low / np.where(none, 1.0, weights))
        high = np.where(none, np.nan, high / np.where(none, 1.0, weights))
    low, high = np.where(survey, low, value), np.where(survey, high, value)
    if node.clamp is not None:
        value, low, high = (np.clip(array, *node.clamp) for array in (value, low, high))
    status = np.select(
        [none & insufficient, none & absent, none],
        [INSUFFICIENT_SAMPLE, MISSING, NOT_APPLICABLE],
        np.where(partial, PROVISIONAL, OK),
    ).astype(object)
    reason = np.full(size, "", dtype=object)
    if reasons:
        left_text, without_text = _names(left_out, size), _names(without, size)
        provisional_text = _names(provisional, size)
        reason = _join(reason, left_text != "", "left_out:" + left_text)
        reason = _join(reason, without_text != "", "without:" + without_text)
        reason = _join(reason, provisional_text != "", "provisional:" + provisional_text)
    missing = np.full(size, "", dtype=object)
    n = np.where(sample == "*", np.nan, n)
    return _Result(value, low, high, n, survey, status, missing, reason, sample)


def _node(
    node: Node,
    methodology: Methodology,
    data: _Inputs,
    results: Mapping[str, _Result],
    min_sample: int,
    params: Parameters,
    reasons: bool = True,
) -> _Result:
    size = data.size
    if node.weighted:
        result = _weighted_node(node, results, size, params, reasons)
    else:
        result = _formula_node(node, methodology, data, results, min_sample, params, reasons)
    kinds = data.kinds
    known = kinds != ""
    applies = np.isin(kinds, sorted(node.applies_to))
    zeros = [(name, data.values[name] == 0) for name in node.left_out_when_zero]
    zero = np.zeros(size, dtype=bool)
    for _, condition in zeros:
        zero |= condition
    status = np.where(
        ~known, MISSING, np.where(~applies | zero, NOT_APPLICABLE, result.status)
    ).astype(object)
    reason, missing = result.reason, result.missing
    if reasons:
        reason = np.where(~known, "kind_unknown", reason).astype(object)
        reason = np.where(known & ~applies, "kind:" + kinds.astype(object), reason).astype(object)
        reason = np.where(known & applies & zero, "zero:" + _names(zeros, size), reason)
        missing = np.where(status == MISSING, result.missing, "").astype(object)
        missing = np.where(known, missing, "kind").astype(object)
    valued = _valued(status)
    # a part left out carries no sample of its own
    left_out = status == NOT_APPLICABLE
    return _Result(
        value=np.where(valued, result.value, np.nan),
        low=np.where(valued, result.low, np.nan),
        high=np.where(valued, result.high, np.nan),
        n=np.where(left_out, np.nan, result.n),
        survey=result.survey & ~left_out,
        status=status,
        missing=missing,
        reason=np.asarray(reason, dtype=object),
        sample=np.where(left_out, "", result.sample).astype(object),
    )


def evaluate(
    methodology: Methodology,
    data: _Inputs,
    min_sample: int,
    params: Parameters,
    reasons: bool = True,
) -> dict[str, _Result]:
    """Every node for every row of `data` under `params` (internal to scoring); `reasons`
    False skips the words of `reason` and `missing_inputs` (statuses stay exact)."""
    results: dict[str, _Result] = {}
    for key in methodology.order:
        node = methodology.nodes[key]
        results[key] = _node(node, methodology, data, results, min_sample, params, reasons)
    return results


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
    missing_inputs, reason`, sorted by agency, period and the tree's order (a parent before its
    children). Agency and period are text; `n` is a nullable integer; `grade` is a band key
    (`high`, …) on graded nodes with a value (provisional ones too). See the module docstring for
    the statuses and `reason`; scoring.explain puts a row in words.
    """
    data = prepare(methodology, inputs, agencies)
    results = evaluate(methodology, data, min_sample, own_parameters(methodology, data.kinds))
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
    ok = np.isin(stacked("status"), VALUED)
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
            "reason": stacked("reason"),
        }
    )
    for column in ("agency", "period", "node", "grade", "status", "missing_inputs", "reason"):
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
