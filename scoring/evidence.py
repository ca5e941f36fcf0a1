"""How much a survey share can be trusted: sample size and a 95 % confidence interval."""

from __future__ import annotations

import numpy as np
import pandas as pd

Z_95 = 1.959963984540054  # two-sided 95 % normal quantile


def wilson_interval(
    successes: pd.Series, totals: pd.Series, z: float = Z_95
) -> tuple[pd.Series, pd.Series]:
    """Wilson score interval for shares `successes / totals`, vectorised.

    Unlike the normal approximation it stays inside [0, 1] and behaves at 0 % and 100 %,
    which matters for small offices. Rows with `totals == 0` give NaN bounds.
    """
    n = totals.astype("float64")
    p = successes.astype("float64") / n.where(n > 0)
    denominator = 1 + z**2 / n
    centre = (p + z**2 / (2 * n)) / denominator
    margin = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denominator
    return (centre - margin).clip(lower=0.0), (centre + margin).clip(upper=1.0)
