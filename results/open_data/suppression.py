"""What of the counts and scores may be published, by the disclosure rule's minimum cell.

Counts (`suppress_cells`): a cell (agency x service x office x month, one metric value) is
published only when it holds at least the minimum. Totals of groups of cells are published
elsewhere (an agency's responses in a score run's inputs, the public pages' monthly figures
per agency, office and region), so a suppressed cell must not come back as "the total minus
the published cells". Hence complementary suppression: within every group the public may know
the total of (a month nationally; a month and an agency; a month, agency and service; a month,
agency and office; a month and a region, the office's or the agency's), what is left
unpublished of each metric value is either nothing or at least the minimum; where it would be
less, the smallest published cells of that group are withheld too, until it is not. Totals
over longer periods (a quarter's or a year's: a score run's `responses`) are covered the same
way as the months go by: when the quarter's or year's remainder so far is small, the month's
own cells of that group are withheld until it is not. Earlier months are never changed (their
packages are out), so one gap stays possible: a small remainder in the last months of a group
that publish nothing after it (docs/open-results.md, "known limit").

Scores (`public_scores`, `public_inputs`): a sample below the minimum is not shown (its `n`,
the `sample:N/M` reason naming it, the sample input and the shares measured on it). A run's
minimum sample is at least the minimum cell (runs below it are not published in the open
data), so such a sample only ever gives `insufficient_sample`, whatever the hidden value:
`verify` puts a stand-in there and gets the same published rows.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

SUPPRESSED_SAMPLE = "suppressed"  # what `sample:N/M` says instead of a hidden N
_SAMPLE_REASON = re.compile(r"sample:(\d+)/")


@dataclass(frozen=True)
class Cell:
    """One count of the aggregates table."""

    month: str
    agency: str
    service: str
    office: str  # "" for a service with no office (eGov, proactive)
    metric: str
    value: str
    count: int
    region: str = ""  # the office's region, else the agency's ("" when neither has one)
    agency_region: str = ""  # the agency's own region (local bodies), "" for central ones


GroupKey = Callable[[Cell], tuple[str, ...] | None]
# The groups whose totals the public may know (see the module docstring). None: not grouped.
GROUPS: tuple[GroupKey, ...] = (
    lambda c: ("national",),
    lambda c: ("agency", c.agency),
    lambda c: ("service", c.agency, c.service),
    lambda c: ("office", c.agency, c.office) if c.office else None,
    lambda c: ("region", c.region) if c.region else None,
    lambda c: ("agency_region", c.agency_region) if c.agency_region else None,
)


def scopes(month: str) -> tuple[tuple[str, str], ...]:
    """The periods a month's cells add to: the month, its quarter so far, its year so far."""
    year, number = month[:4], int(month[5:7])
    return (("month", month), ("quarter", f"{year}-Q{(number - 1) // 3 + 1}"), ("year", year))


def group_keys(cell: Cell) -> Iterator[tuple[str, ...]]:
    """Every (period, group, metric, value) the cell counts in."""
    for scope in scopes(cell.month):
        for group in GROUPS:
            key = group(cell)
            if key is not None:
                yield (*scope, *key, cell.metric, cell.value)


def suppress_cells(cells: Sequence[Cell], minimum: int) -> list[Cell]:
    """The cells that may be published: each at least `minimum`; in every group of GROUPS and
    every month, the unpublished remainder of each (metric, value) 0, at least `minimum`, or
    the whole group's; and over the quarter and the year so far, a small remainder is closed
    with the month's own cells where it has any.

    Months are decided in order, each by itself and the months before it (never the later
    ones), so a month's package, built when it closed, shows exactly the cells the year's
    package shows for that month."""
    published = [cell.count >= minimum for cell in cells]
    # per group, its cells month by month; per month, the groups it has cells in
    members: dict[tuple[str, ...], dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    touching: dict[str, list[tuple[str, ...]]] = defaultdict(list)
    for index, cell in enumerate(cells):
        for key in group_keys(cell):
            if cell.month not in members[key]:
                touching[cell.month].append(key)
            members[key][cell.month].append(index)
    before: dict[tuple[str, ...], int] = defaultdict(int)  # withheld in earlier months
    for month in sorted(touching):
        changed = True
        while changed:  # withholding a cell may open a gap in another group: until none is left
            changed = False
            for key in touching[month]:
                own = members[key][month]
                hidden = before[key] + sum(cells[i].count for i in own if not published[i])
                if hidden == 0 or hidden >= minimum:
                    continue
                shown = [i for i in own if published[i]]
                for i in sorted(shown, key=lambda i: (cells[i].count, i)):
                    published[i] = False
                    changed = True
                    hidden += cells[i].count
                    if hidden >= minimum:
                        break
        for key in touching[month]:
            before[key] += sum(cells[i].count for i in members[key][month] if not published[i])
    return [cell for cell, keep in zip(cells, published, strict=True) if keep]


def _hidden(n: object, minimum: int) -> bool:
    return isinstance(n, int | np.integer) and 0 < int(n) < minimum


def public_reason(reason: str, minimum: int) -> str:
    """`sample:37/100` -> `sample:suppressed/100` when 37 is below the minimum cell."""

    def hide(match: re.Match[str]) -> str:
        count = int(match.group(1))
        return f"sample:{SUPPRESSED_SAMPLE}/" if 0 < count < minimum else match.group(0)

    return _SAMPLE_REASON.sub(hide, reason)


def public_scores(scores: pd.DataFrame, minimum: int) -> pd.DataFrame:
    """A run's score rows as published: `n` below the minimum left empty, reasons naming such
    an `n` say `suppressed` instead (the same transform for stored and recomputed rows)."""
    frame = scores.copy()
    n = frame["n"].astype("Int64")
    hide = n.notna() & (n > 0) & (n < minimum)
    frame["n"] = n.mask(hide)
    for column in ("grade", "missing_inputs", "reason"):  # pandas' text of an empty cell is ""
        frame[column] = ["" if _blank(text) else str(text) for text in frame[column]]
    frame["reason"] = [public_reason(text, minimum) for text in frame["reason"]]
    return frame


def _blank(value: object) -> bool:
    return value is None or value is pd.NA or str(value) in ("", "nan", "None", "<NA>")


def hidden_inputs(
    inputs: pd.DataFrame, samples: Mapping[str, str], minimum: int
) -> pd.Series[bool]:
    """Which rows of a run's inputs (`agency, input, value`) are withheld: a sample input
    (responses, ratings) below the minimum, and every share measured on it. `samples` maps
    each survey share to its sample input (the methodology's declaration)."""
    small = {
        (agency, name)
        for agency, name, value in zip(
            inputs["agency"], inputs["input"], inputs["value"], strict=True
        )
        if name in set(samples.values()) and pd.notna(value) and 0 < float(value) < minimum
    }
    return pd.Series(
        [
            (agency, name) in small or (agency, samples.get(name, "")) in small
            for agency, name in zip(inputs["agency"], inputs["input"], strict=True)
        ],
        index=inputs.index,
        dtype=bool,
    )


def survey_samples(inputs: Iterable[tuple[str, str | None]]) -> dict[str, str]:
    """share -> its sample input, from (input name, sample) declarations."""
    return {name: sample for name, sample in inputs if sample}
