"""Confidence intervals on hand-computed numbers."""

from __future__ import annotations

import math

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from scoring.evidence import wilson_interval


def test_wilson_interval_matches_the_textbook_value() -> None:
    # 70 satisfied of 100: Wilson 95 % interval is [0.6041, 0.7810] (hand-computed).
    low, high = wilson_interval(pd.Series([70]), pd.Series([100]))
    assert math.isclose(low.iloc[0], 0.6041, abs_tol=1e-4)
    assert math.isclose(high.iloc[0], 0.7810, abs_tol=1e-4)


def test_no_answers_gives_no_interval() -> None:
    low, high = wilson_interval(pd.Series([0]), pd.Series([0]))
    assert math.isnan(low.iloc[0]) and math.isnan(high.iloc[0])


@given(st.integers(min_value=1, max_value=10_000), st.data())
def test_interval_contains_the_share_and_stays_in_0_1(total: int, data: st.DataObject) -> None:
    successes = data.draw(st.integers(min_value=0, max_value=total))
    low, high = wilson_interval(pd.Series([successes]), pd.Series([total]))
    share = successes / total
    assert 0 <= low.iloc[0] <= share + 1e-12
    assert share - 1e-12 <= high.iloc[0] <= 1
