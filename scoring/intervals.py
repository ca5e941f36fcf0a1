"""How far a formula can move when its survey shares move within their confidence intervals.

Interval arithmetic over the formula tree: every name is a pair of bounds (lower, upper) per row,
and each operation returns the smallest interval containing every result it can produce. For a
node that reads a single survey share (60 · satisfied_share) this is exactly the share's Wilson
interval carried through the formula; for a node that combines several shares it is the range the
node covers when each share moves anywhere within its own 95 % interval, which is wider than a
joint 95 % interval (conservative, never narrower).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from scoring.formulas import (
    Array,
    BinaryOp,
    Call,
    Expr,
    FormulaError,
    LookupTable,
    Name,
    Negate,
    Number,
    arithmetic,
    finite,
)

Bounds = tuple[Array, Array]


def evaluate_interval(
    expr: Expr,
    bounds: Mapping[str, tuple[pd.Series, pd.Series]],
    tables: Mapping[str, LookupTable] | None = None,
    index: pd.Index | None = None,
) -> tuple[pd.Series, pd.Series]:
    """Lower and upper bounds of a formula, given lower and upper bounds of every name it reads.

    A name known exactly has equal bounds. NaN anywhere gives NaN bounds; so does dividing by an
    interval that contains zero.
    """
    if index is None:
        index = next((low.index for low, _ in bounds.values()), pd.RangeIndex(1))
    arrays = {
        name: (_array(low, index), _array(high, index)) for name, (low, high) in bounds.items()
    }
    low, high = interval_arrays(expr, arrays, tables or {}, len(index))
    return pd.Series(low, index=index), pd.Series(high, index=index)


def interval_arrays(
    expr: Expr, bounds: Mapping[str, Bounds], tables: Mapping[str, LookupTable], size: int
) -> Bounds:
    """`evaluate_interval` on plain float arrays of length `size` (no index)."""
    low, high = _bounds(expr, bounds, tables)
    return (
        np.broadcast_to(low, (size,)).astype("float64", copy=True),
        np.broadcast_to(high, (size,)).astype("float64", copy=True),
    )


def _array(series: pd.Series, index: pd.Index) -> Array:
    aligned = series if series.index.equals(index) else series.reindex(index)
    return finite(np.asarray(pd.to_numeric(aligned, errors="coerce"), dtype="float64"))


def _bounds(expr: Expr, names: Mapping[str, Bounds], tables: Mapping[str, LookupTable]) -> Bounds:
    if isinstance(expr, Number):
        value = np.asarray(expr.value, dtype="float64")
        return value, value
    if isinstance(expr, Name):
        if expr.name not in names:
            raise FormulaError(f"unknown name {expr.name!r}", expr.column)
        return names[expr.name]
    if isinstance(expr, Negate):
        low, high = _bounds(expr.operand, names, tables)
        return -high, -low
    if isinstance(expr, BinaryOp):
        return _binary(
            expr.op, _bounds(expr.left, names, tables), _bounds(expr.right, names, tables)
        )
    return _call(expr, names, tables)


def _binary(op: str, a: Bounds, b: Bounds) -> Bounds:
    if op == "+":
        return arithmetic("+", a[0], b[0]), arithmetic("+", a[1], b[1])
    if op == "-":
        return arithmetic("-", a[0], b[1]), arithmetic("-", a[1], b[0])
    if op == "/":
        safe = (b[0] > 0) | (b[1] < 0)  # the divisor's interval excludes zero
        a_low, a_high = a
        b_low = np.where(safe, b[0], np.nan)
        b_high = np.where(safe, b[1], np.nan)
        candidates = [arithmetic("/", x, y) for x in (a_low, a_high) for y in (b_low, b_high)]
    else:
        candidates = [arithmetic("*", x, y) for x in a for y in b]
    low = candidates[0]
    high = candidates[0]
    for candidate in candidates[1:]:
        low = np.minimum(low, candidate)
        high = np.maximum(high, candidate)
    return low, high


def _call(expr: Call, names: Mapping[str, Bounds], tables: Mapping[str, LookupTable]) -> Bounds:
    if expr.function == "lookup":
        table_name = expr.args[0]
        assert isinstance(table_name, Name)
        if table_name.name not in tables:
            raise FormulaError(f"unknown table {table_name.name!r}", table_name.column)
        table = tables[table_name.name]
        low, high = (np.atleast_1d(bound) for bound in _bounds(expr.args[1], names, tables))
        at_low, at_high = table.apply(low), table.apply(high)
        if table.monotone:
            return np.minimum(at_low, at_high), np.maximum(at_low, at_high)
        same = low == high
        whole = np.isnan(at_low) | np.isnan(at_high)
        return (
            np.where(whole, np.nan, np.where(same, at_low, table.lowest)),
            np.where(whole, np.nan, np.where(same, at_high, table.highest)),
        )
    args = [_bounds(arg, names, tables) for arg in expr.args]
    if expr.function == "clamp":
        x, lower, upper = args
        return _extreme(np.minimum, [_extreme(np.maximum, [x, lower]), upper])
    return _extreme(np.minimum if expr.function == "min" else np.maximum, args)


def _extreme(reduce: np.ufunc, args: list[Bounds]) -> Bounds:
    # min and max are monotone in every argument, so bounds map to bounds.
    low, high = args[0]
    for arg_low, arg_high in args[1:]:
        low, high = reduce(low, arg_low), reduce(high, arg_high)
    return low, high
