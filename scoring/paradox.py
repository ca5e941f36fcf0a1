"""The complaint paradox the research found (report, 2020, section 2.5, table 2.9), on feasible
inputs: under kz-2020's reconstructed R1-R3 a body that receives more complaints, with the same
late, court-upheld and repeated ones, scores higher, and one with few complaints goes below zero;
under proposed-s30's fix (this project's proposal: measure against the complaints expected from
the body's volume, clamp at 0) the score does not depend on how many complaints came in.

    table = complaint_paradox()      # one row per number of complaints reviewed
"""

from __future__ import annotations

import pandas as pd

from scoring.compute import score
from scoring.methodology import load_methodology

REVIEWED = (50, 500, 5_000, 50_000)
SAME = {
    "services_delivered": 1_000_000,
    "complaints_late": 10,
    "complaints_court_upheld": 1,
    "complaints_repeat_justified": 5,
}
NODES = ("complaint_deadlines", "court_decisions", "repeat_complaints")


def complaint_paradox(reviewed: tuple[int, ...] = REVIEWED) -> pd.DataFrame:
    """R1-R3 in points under both methodologies for each number of complaints reviewed, the
    late, upheld and repeated complaints and the services delivered staying the same.

    Columns: `reviewed`, `r1_kz_2020`, `r2_kz_2020`, `r3_kz_2020`, `sum_kz_2020` (points of
    40, 30 and 20), then `r1_proposed`, `r2_proposed`, `r3_proposed`, `sum_proposed` (points of
    20, 30 and 20: proposed-s30 gives R1 20 points, S11)."""
    agencies = pd.DataFrame({"agency": [f"p{count}" for count in reviewed], "kind": "central"})
    rows = [
        (f"p{count}", "2025", name, value)
        for count in reviewed
        for name, value in {**SAME, "complaints_reviewed": count}.items()
    ]
    inputs = pd.DataFrame(rows, columns=["agency", "period", "input", "value"])
    table = pd.DataFrame({"reviewed": list(reviewed)})
    # proposed-s30's criteria are on 0-100 scales: back to their points (R1 20, R2 30, R3 20)
    for name, scale in (("kz-2020", (1, 1, 1)), ("proposed-s30", (0.2, 0.3, 0.2))):
        result = score(load_methodology(name), inputs, agencies)
        value = result.set_index(["agency", "node"])["value"].astype("float64")
        suffix = "kz_2020" if name == "kz-2020" else "proposed"
        for position, node in enumerate(NODES, start=1):
            values = [float(value[(f"p{count}", node)]) for count in reviewed]
            table[f"r{position}_{suffix}"] = [
                round(value * scale[position - 1], 6) for value in values
            ]
        table[f"sum_{suffix}"] = table[[f"r{i}_{suffix}" for i in (1, 2, 3)]].sum(axis=1).round(6)
    return table
