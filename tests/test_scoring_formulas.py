"""The formula language of methodology files: hand-computed values, errors with columns, and that
nothing but the grammar gets through."""

from __future__ import annotations

import contextlib
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.evidence import wilson_interval
from scoring.formulas import (
    BinaryOp,
    Call,
    Expr,
    FormulaError,
    LookupTable,
    Name,
    Negate,
    Number,
    evaluate,
    numbers,
    parse,
    references,
    render,
    table_names,
)
from scoring.intervals import evaluate_interval

R4 = LookupTable(thresholds=(50, 60, 70, 80, 90), points=(1, 4, 6, 8, 10), otherwise=0)


def value_of(source: str, **names: float) -> float:
    columns = {name: pd.Series([value]) for name, value in names.items()}
    result = evaluate(parse(source), columns, {"r4": R4}, index=pd.RangeIndex(1))
    return float(result.iloc[0])


@pytest.mark.parametrize(
    ("source", "names", "expected"),
    [
        ("1 + 2 * 3", {}, 7),
        ("(1 + 2) * 3", {}, 9),
        ("10 - 4 - 3", {}, 3),  # left to right
        ("2 * -3", {}, -6),
        ("-2 * 3 + 10", {}, 4),
        ("--2", {}, 2),
        ("+2", {}, 2),
        ("12 / 4 / 3", {}, 1),
        ("1e3 + 2.5 + .5", {}, 1003),
        ("40 - 1000 * f / p", {"f": 120, "p": 50}, -2360),  # R1 reconstructed, unclamped
        ("30 - 10000 * a / p", {"a": 1, "p": 50}, -170),
        ("20 - 100 * n / m", {"n": 5, "m": 50}, 10),
        ("min(a, 3, 2)", {"a": 5}, 2),
        ("max(a, 3)", {"a": 5}, 5),
        ("clamp(40 - 1000 * f / p, 0, 40)", {"f": 120, "p": 50}, 0),
        ("clamp(x, 0, 40)", {"x": 55}, 40),
        ("clamp(x, 0, 40)", {"x": 12.5}, 12.5),
        ("lookup(r4, 95)", {}, 10),
        ("lookup(r4, 90)", {}, 10),
        ("lookup(r4, 89.9)", {}, 8),
        ("lookup(r4, 80)", {}, 8),
        ("lookup(r4, 75)", {}, 6),
        ("lookup(r4, 60)", {}, 4),
        ("lookup(r4, 59.9)", {}, 1),
        ("lookup(r4, 50)", {}, 1),
        ("lookup(r4, 49.9)", {}, 0),
        ("lookup(r4, 100 * share)", {"share": 0.85}, 8),
    ],
)
def test_formulas_compute_hand_checked_values(
    source: str, names: dict[str, float], expected: float
) -> None:
    assert value_of(source, **names) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(
    ("source", "names"),
    [
        ("a / b", {"a": 1, "b": 0}),  # division by zero is missing, not inf
        ("a / b", {"a": 0, "b": 0}),
        ("1e308 * 10", {}),  # overflow is missing too
        ("a + 1", {"a": math.nan}),
        ("min(a, 1)", {"a": math.nan}),  # NaN is never skipped by min/max
        ("max(1, a)", {"a": math.nan}),
        ("clamp(a, 0, 1)", {"a": math.nan}),
        ("lookup(r4, a)", {"a": math.nan}),
        ("a * 0", {"a": math.inf}),  # an infinite input is as good as missing
    ],
)
def test_undefined_arithmetic_is_missing_never_infinite(
    source: str, names: dict[str, float]
) -> None:
    assert math.isnan(value_of(source, **names))


def test_evaluation_is_vectorised_over_a_column_of_agencies() -> None:
    index = pd.Index(["ministry_a", "akimat_b", "akimat_c"], name="agency")
    late = pd.Series([80, 10, 40], index=index)
    reviewed = pd.Series([16_000, 5_000, 0], index=index)
    result = evaluate(parse("40 - 1000 * late / reviewed"), {"late": late, "reviewed": reviewed})
    assert result.index.equals(index)
    assert result.iloc[0] == 35 and result.iloc[1] == 38 and math.isnan(result.iloc[2])


def test_a_constant_formula_fills_the_index() -> None:
    result = evaluate(parse("0.7 / 3"), {}, index=pd.RangeIndex(3))
    assert result.tolist() == pytest.approx([0.7 / 3] * 3)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("", "empty formula at column 1"),
        ("1 +", "expected a number, a name or '(', found the end at column 4"),
        ("2 * (a", "expected ')', found the end at column 7"),
        ("a $ b", "unexpected character '$' at column 3"),
        ("a b", "unexpected 'b' at column 3"),
        ("a ** 2", "expected a number, a name or '(', found '*' at column 4"),
        ("sqrt(a)", "unknown function 'sqrt'; use min, max, clamp or lookup at column 1"),
        ("clamp(a, 0)", "clamp() takes 3 arguments, got 2 at column 1"),
        ("min(a)", "min() takes 2 or more arguments, got 1 at column 1"),
        ("lookup(1, a)", "lookup() needs a table name first at column 1"),
        ("2 * max", "max is a function; write max(…) at column 5"),
        ("1e999", "number 1e999 is too large at column 1"),
        ("(" * 70 + "1" + ")" * 70, "nested more than 64 levels deep at column 65"),
        ("-" * 70 + "1", "nested more than 64 levels deep at column 65"),
        ("__import__('os')", 'unexpected character "\'" at column 12'),
    ],
)
def test_syntax_errors_name_the_column(source: str, message: str) -> None:
    with pytest.raises(FormulaError) as error:
        parse(source)
    assert str(error.value) == message


def test_a_formula_says_what_it_reads() -> None:
    expr = parse("lookup(r4, 100 * share) + min(late / reviewed, ceiling) - 2.5")
    assert [name.name for name in references(expr)] == ["share", "late", "reviewed", "ceiling"]
    assert [name.name for name in table_names(expr)] == ["r4"]
    assert numbers(expr) == [100, 2.5]
    assert references(expr)[1].column == 30


# --- property tests ----------------------------------------------------------------------------

NAMES = ("a", "b", "c")
leaves = st.one_of(
    st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False).map(Number),
    st.sampled_from(NAMES).map(Name),
)


def _branches(children: st.SearchStrategy[Expr]) -> st.SearchStrategy[Expr]:
    return st.one_of(
        children.map(Negate),
        st.builds(BinaryOp, st.sampled_from("+-*/"), children, children),
        st.builds(
            Call,
            st.sampled_from(["min", "max"]),
            st.lists(children, min_size=2, max_size=3).map(tuple),
        ),
        st.builds(lambda x, lo, hi: Call("clamp", (x, lo, hi)), children, children, children),
        children.map(lambda x: Call("lookup", (Name("r4"), x))),
    )


expressions = st.recursive(leaves, _branches, max_leaves=12)
columns = st.lists(
    st.one_of(
        st.floats(min_value=-1e3, max_value=1e3, allow_nan=False),
        st.just(0.0),
        st.just(math.nan),
    ),
    min_size=3,
    max_size=3,
)


@settings(max_examples=200, deadline=None)
@given(expressions, columns, columns, columns)
def test_rendered_formulas_parse_back_to_the_same_tree_and_value(
    expr: Expr, a: list[float], b: list[float], c: list[float]
) -> None:
    text = render(expr)
    again = parse(text)
    assert again == expr, text
    values = {"a": pd.Series(a), "b": pd.Series(b), "c": pd.Series(c)}
    first = evaluate(expr, values, {"r4": R4})
    second = evaluate(again, values, {"r4": R4})
    pd.testing.assert_series_equal(first, second)
    assert not np.isinf(first).any()


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(), st.text(alphabet="ab01.e+-*/(), minaxclpk_")))
def test_any_text_parses_or_raises_formula_error(text: str) -> None:
    with contextlib.suppress(FormulaError):
        parse(text)


# --- intervals ---------------------------------------------------------------------------------


def test_a_share_interval_is_carried_exactly_through_a_linear_formula() -> None:
    # 70 satisfied of 100: Wilson 95 % interval [0.6041, 0.7810] (see test_evidence.py).
    low, high = wilson_interval(pd.Series([70.0]), pd.Series([100.0]))
    lower, upper = evaluate_interval(parse("60 * share"), {"share": (low, high)})
    assert lower.iloc[0] == pytest.approx(60 * 0.6041, abs=60 * 1e-4)
    assert upper.iloc[0] == pytest.approx(60 * 0.7810, abs=60 * 1e-4)


def test_intervals_follow_the_sign_of_each_operation() -> None:
    share = (pd.Series([0.1]), pd.Series([0.3]))
    fixed = (pd.Series([2.0]), pd.Series([2.0]))
    cases = {
        "5 * (1 - share)": (3.5, 4.5),
        "10 - 5 * share": (8.5, 9.5),
        "-share": (-0.3, -0.1),
        "x / share": (2 / 0.3, 20),
        "clamp(100 * share, 15, 20)": (15, 20),
        "min(share, 0.2) + max(share, 0.2)": (0.3, 0.5),
        "lookup(r4, 300 * share)": (0, 10),  # 30 → 0 points, 90 → 10 points
    }
    for source, (low, high) in cases.items():
        lower, upper = evaluate_interval(parse(source), {"share": share, "x": fixed}, {"r4": R4})
        assert lower.iloc[0] == pytest.approx(low), source
        assert upper.iloc[0] == pytest.approx(high), source


def test_dividing_by_an_interval_around_zero_has_no_bounds() -> None:
    around_zero = (pd.Series([-1.0]), pd.Series([1.0]))
    lower, upper = evaluate_interval(parse("1 / x"), {"x": around_zero}, index=pd.RangeIndex(1))
    assert math.isnan(lower.iloc[0]) and math.isnan(upper.iloc[0])
