"""How far each agency's rank moves when the assumptions move within their plausible ranges.

    table = sensitivity(methodology, inputs, agencies, draws=1000, seed=1)

A methodology file may declare, for each assumption, a plausible range: `range: [low, high]` on a
constant (a penalty scale, a complaint denominator, a ceiling) and `weight_range: [low, high]` on
a node's weight (the split of the remaining 0.7, P1 and P2 inside S). Each draw takes every such
assumption uniformly from its range; weights drawn for siblings are scaled back so that together
they keep the share their parent gives them (0.7 stays 0.7; P1 and P2 still make 1). All draws
are scored at once (the draws are rows of one evaluation, never a loop over draws or agencies).

Per agency and period (SENSITIVITY_COLUMNS): `kind`; `value`, `rank` and `grade` under the
file's own numbers; the 5th-95th percentile of the total (`value_p05`, `value_p95`) and of the
rank (`rank_p05`, `rank_p95`; ranks within the agency's kind, central and local bodies apart,
1 the best); the probability of each grade (`p_high`, … one column per grade band); and the
assumption that moves its rank most (`driver`: a constant's name, or `weight:NODE`) with the
correlation between that assumption and the rank over the draws (`driver_effect`, -1..1; a
positive one means a larger value of the assumption gives a worse, larger rank number).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from scoring.compute import (
    DEFAULT_MIN_SAMPLE,
    VALUED,
    Parameters,
    _Inputs,
    evaluate,
    prepare,
    weight_arrays,
)
from scoring.formulas import Array
from scoring.model import KINDS, Methodology

DEFAULT_DRAWS = 1000


@dataclass(frozen=True)
class Assumption:
    """One number the sensitivity draws: a constant, or a node's weight (`weight:NODE`)."""

    name: str
    low: float
    high: float


def assumptions(methodology: Methodology) -> list[Assumption]:
    """Every assumption of the methodology that declares a plausible range."""
    found = [Assumption(name, *bounds) for name, bounds in methodology.ranges.items()]
    found += [
        Assumption(f"weight:{key}", *node.weight_range)
        for key, node in methodology.nodes.items()
        if node.weight_range is not None
    ]
    return found


def sensitivity_columns(methodology: Methodology) -> list[str]:
    """The columns `sensitivity` returns for this methodology (one `p_` column per grade)."""
    grades = [f"p_{band.key}" for band in reversed(methodology.grades)]
    return [
        *["agency", "period", "kind", "value", "grade", "rank"],
        *["value_p05", "value_p95", "rank_p05", "rank_p95"],
        *grades,
        *["driver", "driver_effect", "draws"],
    ]


def _tile(data: _Inputs, draws: int) -> _Inputs:
    def tiled(arrays: dict[str, Array] | object) -> dict[str, Array]:
        assert isinstance(arrays, dict)
        return {name: np.tile(values, draws) for name, values in arrays.items()}

    index = pd.MultiIndex.from_arrays(
        [np.tile(data.index.get_level_values(level), draws) for level in (0, 1)],
        names=data.index.names,
    )
    return replace(
        data,
        index=index,
        values=tiled(data.values),
        low=tiled(data.low),
        high=tiled(data.high),
        kinds=np.tile(data.kinds, draws),
    )


def _drawn_parameters(
    methodology: Methodology,
    kinds: Array,
    drawn: Array,
    names: list[str],
    rows: int,
) -> Parameters:
    """Constants and weights per row from the draws (`drawn`: draws × assumptions)."""
    repeat = np.repeat  # each draw covers `rows` consecutive rows
    constants: dict[str, Array | float] = dict(methodology.constants)
    for position, name in enumerate(names):
        if not name.startswith("weight:"):
            constants[name] = repeat(drawn[:, position], rows)
    weights = weight_arrays(methodology, kinds)
    varied = {name.removeprefix("weight:"): p for p, name in enumerate(names) if "weight:" in name}
    parents = {methodology.nodes[key].parent for key in varied}
    for parent in parents:
        siblings = [key for key in varied if methodology.nodes[key].parent == parent]
        written = sum((weights[key] for key in siblings), np.zeros(len(kinds)))
        raw = {key: repeat(drawn[:, varied[key]], rows) * (weights[key] > 0) for key in siblings}
        total = sum(raw.values(), np.zeros(len(kinds)))
        with np.errstate(invalid="ignore", divide="ignore"):
            scale = np.where(total > 0, written / total, 0.0)
        for key in siblings:
            weights[key] = raw[key] * scale
    return Parameters(constants, weights)


def _ranks(values: Array, kinds: Array) -> Array:
    """Rank (1 best, ties share the better rank) of each column within its kind, per row."""
    ranks = np.full(values.shape, np.nan)
    for kind in KINDS:
        columns = kinds == kind
        if not columns.any():
            continue
        part = pd.DataFrame(values[:, columns])
        ranks[:, columns] = part.rank(axis=1, method="min", ascending=False).to_numpy()
    return ranks


def sensitivity(
    methodology: Methodology,
    inputs: pd.DataFrame,
    agencies: pd.DataFrame,
    draws: int = DEFAULT_DRAWS,
    seed: int = 0,
    min_sample: int = DEFAULT_MIN_SAMPLE,
    node: str = "total",
) -> pd.DataFrame:
    """Draw `draws` combinations of the assumptions and report how each agency's `node` and rank
    move (columns: `sensitivity_columns(methodology)`, see the module docstring)."""
    if draws < 1:
        raise ValueError("draws must be at least 1")
    data = prepare(methodology, inputs, agencies)
    found = assumptions(methodology)
    names = [item.name for item in found]
    generator = np.random.default_rng(seed)
    drawn = generator.uniform(
        [item.low for item in found], [item.high for item in found], size=(draws, len(found))
    )
    rows = data.size
    columns = sensitivity_columns(methodology)
    if rows == 0:
        return pd.DataFrame(columns=columns)
    stacked = _tile(data, draws)
    params = _drawn_parameters(methodology, stacked.kinds, drawn, names, rows)
    results = evaluate(methodology, stacked, min_sample, params, reasons=False)
    own = evaluate(methodology, data, min_sample, _own(methodology, data))

    result = results[node]
    valued = (result.status == "ok") | (result.status == "provisional")
    values = np.where(valued, np.round(result.value, 6), np.nan).reshape(draws, rows)
    central = np.where(np.isin(own[node].status, VALUED), np.round(own[node].value, 6), np.nan)
    frame = pd.DataFrame(
        {
            "agency": data.index.get_level_values("agency").astype(str),
            "period": data.index.get_level_values("period").astype(str),
            "kind": data.kinds.astype(str),
            "value": central,
        }
    )
    frame["grade"] = methodology.grade(frame["value"]).to_numpy()
    ranks = np.full((draws, rows), np.nan)
    central_rank = np.full(rows, np.nan)
    for period in frame["period"].unique():
        at = (frame["period"] == period).to_numpy()
        ranks[:, at] = _ranks(values[:, at], data.kinds[at])
        central_rank[at] = _ranks(central[at][None, :], data.kinds[at])[0]
    frame["rank"] = pd.array(np.where(np.isnan(central_rank), np.nan, central_rank), dtype="Int64")
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # agencies without a total: all NaN
        frame["value_p05"] = np.nanpercentile(values, 5, axis=0)
        frame["value_p95"] = np.nanpercentile(values, 95, axis=0)
        frame["rank_p05"] = np.nanpercentile(ranks, 5, axis=0, method="lower")
        frame["rank_p95"] = np.nanpercentile(ranks, 95, axis=0, method="higher")
    grades = methodology.grade(pd.Series(values.ravel())).to_numpy().reshape(draws, rows)
    has = ~np.isnan(values)
    counted = np.maximum(has.sum(axis=0), 1)
    for band in reversed(methodology.grades):
        share = ((grades == band.key) & has).sum(axis=0) / counted
        frame[f"p_{band.key}"] = np.where(has.any(axis=0), share, np.nan)
    driver, effect = _drivers(drawn, ranks, names)
    frame["driver"] = driver
    frame["driver_effect"] = effect
    frame["draws"] = has.sum(axis=0)
    return frame.loc[:, columns].reset_index(drop=True)


def _own(methodology: Methodology, data: _Inputs) -> Parameters:
    return Parameters(dict(methodology.constants), weight_arrays(methodology, data.kinds))


def _drivers(drawn: Array, ranks: Array, names: list[str]) -> tuple[Array, Array]:
    """Per agency, the assumption most correlated with its rank over the draws, and by how much."""
    agencies = ranks.shape[1]
    if not names or drawn.shape[0] < 2:
        return np.full(agencies, "", dtype=object), np.full(agencies, np.nan)
    params = (drawn - drawn.mean(axis=0)) / np.where(drawn.std(axis=0) > 0, drawn.std(axis=0), 1)
    filled = np.where(np.isnan(ranks), np.nanmean(np.where(np.isnan(ranks), 0, ranks)), ranks)
    spread = filled.std(axis=0)
    centred = (filled - filled.mean(axis=0)) / np.where(spread > 0, spread, 1)
    correlation = params.T @ centred / drawn.shape[0]  # assumptions × agencies
    strongest = np.argmax(np.abs(correlation), axis=0)
    effect = correlation[strongest, np.arange(agencies)]
    moved = (spread > 0) & ~np.all(np.isnan(ranks), axis=0)
    driver = np.where(moved, np.asarray(names, dtype=object)[strongest], "")
    return driver.astype(object), np.where(moved, np.round(effect, 3), np.nan)
