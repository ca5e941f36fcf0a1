"""An agency's complaint summary for one period: what was complained about, where, how late.

    from scoring.complaint_summary import load_summary_rules, summarise
    summary = summarise(frame, period_start=start, period_end=end, previous=last_week,
                        history=earlier_weeks, now=now, config=load_summary_rules())
    summary.total, summary.by_category, summary.themes, summary.over_represented

Pure functions over pandas frames of complaints (the columns of ``COLUMNS``; texts already
scrubbed, scrubbed again here before any quote is kept). The thresholds are in the versioned
``scoring/summary_rules.yaml``; :mod:`scoring.summary_render` turns a summary into a message.
See docs/complaint-analytics.md ("Summaries") for what each figure means and how the
over-representation test works.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from importlib import resources
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd
import yaml

from scoring.privacy import scrub
from scoring.text import themes as find_themes

COLUMNS: Final = (
    "complaint_id",
    "agency",
    "received_at",
    "category",
    "service",
    "office",
    "status",
    "deadline",
    "answered_at",
    "text",
    "language",
    "answer_rating",
)
CATEGORIES: Final = (
    "waiting_time",
    "deadline_missed",
    "unjustified_refusal",
    "extra_documents",
    "rudeness",
    "unclear_information",
    "corruption",
    "other",
)
OPEN_STATUSES: Final = frozenset({"received", "in_review"})
# Problem reports about open data sets (filed like complaints, counted under their own heading).
PROBLEM_COLUMNS: Final = (
    "complaint_id",
    "agency",
    "received_at",
    "problem",
    "dataset",
    "status",
    "deadline",
    "answered_at",
)
PROBLEM_KINDS: Final = ("missing_fields", "outdated", "broken_link", "wrong_values", "other")
# The label of complaints without a category, service or office (counted, never tested).
UNKNOWN: Final = ""
DIMENSIONS: Final = ("office", "service")

# Working days from ``now`` to each deadline (the holiday calendar lives in core/).
WorkingDays = Callable[[pd.Timestamp, pd.Series], pd.Series]


@dataclass(frozen=True)
class ThemeRules:
    max_themes: int
    quotes_per_theme: int
    min_texts: int
    min_size: int
    seed: int


@dataclass(frozen=True)
class OverRepresentationRules:
    alpha: float
    min_count: int
    min_ratio: float
    baseline_periods: int
    persistence_periods: int


@dataclass(frozen=True)
class SummaryRules:
    """The thresholds of ``scoring/summary_rules.yaml``."""

    version: str
    themes: ThemeRules
    near_breach_working_days: int
    over_representation: OverRepresentationRules
    list_top: int


RULES_FILE: Final = "summary_rules.yaml"


def load_summary_rules(path: Path | None = None) -> SummaryRules:
    """The summary thresholds: the shipped file, or the YAML file at ``path``."""
    if path is None:
        text = resources.files("scoring").joinpath(RULES_FILE).read_text(encoding="utf-8")
    else:
        text = path.read_text(encoding="utf-8")
    raw = yaml.safe_load(text)
    try:
        rules = SummaryRules(
            version=str(raw["version"]),
            themes=ThemeRules(**{k: int(v) for k, v in raw["themes"].items()}),
            near_breach_working_days=int(raw["near_breach_working_days"]),
            over_representation=OverRepresentationRules(
                alpha=float(raw["over_representation"]["alpha"]),
                min_count=int(raw["over_representation"]["min_count"]),
                min_ratio=float(raw["over_representation"]["min_ratio"]),
                baseline_periods=int(raw["over_representation"]["baseline_periods"]),
                persistence_periods=int(raw["over_representation"]["persistence_periods"]),
            ),
            list_top=int(raw["list_top"]),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"{path or RULES_FILE}: not valid summary rules ({error})") from None
    if not 0 < rules.over_representation.alpha < 1:
        raise ValueError(f"{path or RULES_FILE}: over_representation.alpha must be in (0, 1)")
    if rules.themes.max_themes < 1 or rules.over_representation.persistence_periods < 1:
        raise ValueError(f"{path or RULES_FILE}: max_themes and persistence_periods must be ≥ 1")
    return rules


@dataclass(frozen=True)
class Count:
    name: str  # UNKNOWN ("") when not stated
    count: int


@dataclass(frozen=True)
class Deadlines:
    answered_late: int  # answered after the deadline
    open_overdue: int  # still open (received / in review) and past the deadline
    due_soon: int  # open, deadline not passed, at most `due_soon_days` working days away
    due_soon_days: int

    @property
    def breached(self) -> int:
        return self.answered_late + self.open_overdue


@dataclass(frozen=True)
class SummaryTheme:
    label: tuple[str, ...]
    size: int
    quotes: tuple[str, ...]
    languages: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class OverRepresented:
    """An office or service with more of this period's complaints than its baseline share."""

    dimension: str  # "office" or "service"
    name: str
    count: int
    share: float  # of this period's complaints (with that dimension stated)
    baseline_share: float
    ratio: float
    p_value: float
    q_value: float  # Benjamini-Hochberg adjusted, across the dimension's names
    periods_in_row: int  # flagged this many periods in a row, this one included
    persistent: bool


@dataclass(frozen=True)
class Rating:
    mean: float | None
    n: int


@dataclass(frozen=True)
class ProblemReports:
    """Problem reports about the agency's open data sets received in the period."""

    total: int
    by_kind: tuple[Count, ...]
    by_dataset: tuple[Count, ...]
    open: int  # received or in review now
    open_overdue: int  # of those, past the deadline
    answered_late: int


@dataclass(frozen=True)
class ComplaintSummary:
    """Everything an agency's summary says; render with :func:`render_summary`."""

    agency: str | None
    period_start: date
    period_end: date
    rules_version: str
    total: int
    previous_total: int
    by_category: tuple[Count, ...]
    by_service: tuple[Count, ...]
    by_office: tuple[Count, ...]
    deadlines: Deadlines
    themes: tuple[SummaryTheme, ...]
    over_represented: tuple[OverRepresented, ...]
    rating: Rating
    list_top: int = 8  # names a message lists per count (the rules' list_top)
    problems: ProblemReports | None = None  # data-set problem reports, when a frame was given

    @property
    def is_empty(self) -> bool:
        return self.total == 0

    @property
    def change(self) -> int:
        return self.total - self.previous_total

    @property
    def change_share(self) -> float | None:
        """Relative change against the previous period; None when it had no complaints."""
        return self.change / self.previous_total if self.previous_total else None

    @property
    def persistent(self) -> tuple[OverRepresented, ...]:
        return tuple(item for item in self.over_represented if item.persistent)

    def as_dict(self) -> dict[str, Any]:
        """Plain data (str, int, float, None, lists, dicts) for the admin page and reports."""
        data = asdict(self)
        data["period_start"] = self.period_start.isoformat()
        data["period_end"] = self.period_end.isoformat()
        data["change"] = self.change
        data["change_share"] = self.change_share
        data["deadlines"]["breached"] = self.deadlines.breached
        for theme in data["themes"]:
            theme["label"] = list(theme["label"])
            theme["quotes"] = list(theme["quotes"])
            theme["languages"] = dict(theme["languages"])
        return data


def _timestamps(values: pd.Series) -> pd.Series:
    """Any datetimes (naive = UTC, aware, dates, strings) as UTC timestamps; bad ones NaT."""
    converted: pd.Series
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        converted = values.dt.tz_convert("UTC")
    elif pd.api.types.is_datetime64_any_dtype(values.dtype):
        converted = values.dt.tz_localize("UTC")
    else:
        converted = pd.to_datetime(values, errors="coerce", utc=True, format="mixed")
    return converted


def _utc(moment: datetime | date | pd.Timestamp) -> pd.Timestamp:
    stamp = pd.Timestamp(moment)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _labels(values: pd.Series) -> pd.Series:
    """Names as strings; missing or blank ones are UNKNOWN."""
    text = values.astype(object).where(values.notna(), UNKNOWN).astype(str).str.strip()
    return text.where(~text.isin(["nan", "None", "<NA>", "NaT"]), UNKNOWN)


def _counts(values: pd.Series) -> tuple[Count, ...]:
    counted = values.value_counts(sort=False)
    ordered = sorted(counted.items(), key=lambda item: (-int(item[1]), str(item[0])))
    return tuple(Count(str(name), int(count)) for name, count in ordered)


def _ensure_columns(frame: pd.DataFrame) -> pd.DataFrame:
    absent = [name for name in COLUMNS if name not in frame.columns]
    if absent:
        raise ValueError(f"the complaints frame lacks the columns {', '.join(absent)}")
    return frame


def business_days(now: pd.Timestamp, deadlines: pd.Series) -> pd.Series:
    """Monday-to-Friday days from ``now`` to each deadline, no holidays (the fallback when no
    calendar is given); NaN where the deadline is unknown."""
    known = deadlines.notna()
    result = pd.Series(np.nan, index=deadlines.index, dtype="float64")
    if known.any():
        ends = deadlines[known].dt.tz_convert(None).to_numpy(dtype="datetime64[D]")
        start = np.datetime64(now.tz_convert(None).date(), "D")
        result[known] = np.busday_count(start, ends).astype("float64")
    return result


def _deadlines(
    frame: pd.DataFrame, now: pd.Timestamp, rules: SummaryRules, working_days: WorkingDays | None
) -> Deadlines:
    deadline = _timestamps(frame["deadline"])
    answered = _timestamps(frame["answered_at"])
    is_open = _labels(frame["status"]).isin(OPEN_STATUSES)
    # an open complaint is overdue, a closed one may have been late: never both
    late = ~is_open & answered.notna() & deadline.notna() & (answered > deadline)
    overdue = is_open & deadline.notna() & (deadline < now)
    pending = is_open & deadline.notna() & (deadline >= now)
    if working_days is not None:
        left = pd.to_numeric(working_days(now, deadline), errors="coerce")
    elif "working_days_left" in frame.columns:
        left = pd.to_numeric(frame["working_days_left"], errors="coerce")
    else:
        left = business_days(now, deadline)
    soon = pending & (left <= rules.near_breach_working_days)
    return Deadlines(
        answered_late=int(late.sum()),
        open_overdue=int(overdue.sum()),
        due_soon=int(soon.sum()),
        due_soon_days=rules.near_breach_working_days,
    )


def _themes(frame: pd.DataFrame, rules: ThemeRules) -> tuple[SummaryTheme, ...]:
    texts = frame["text"].where(frame["text"].map(lambda value: isinstance(value, str)))
    texts = texts.dropna()
    texts = texts[texts.str.strip() != ""]
    if len(texts) < rules.min_texts:
        return ()
    found = find_themes(
        texts,
        languages=frame.loc[texts.index, "language"],
        max_themes=rules.max_themes,
        seed=rules.seed,
        min_size=rules.min_size,
        quotes_per_theme=rules.quotes_per_theme,
    )
    return tuple(
        SummaryTheme(
            label=theme.label,
            size=theme.size,
            # texts come scrubbed and themes() scrubs again; a third pass costs nothing and
            # keeps the guarantee local to what leaves this function
            quotes=tuple(scrub(quote) for quote in theme.quotes),
            languages=dict(theme.languages),
        )
        for theme in found
    )


def _rating(frame: pd.DataFrame) -> Rating:
    ratings = pd.to_numeric(frame["answer_rating"], errors="coerce")
    valid = ratings[(ratings >= 1) & (ratings <= 5)]
    return Rating(mean=float(valid.mean()) if len(valid) else None, n=len(valid))


def _benjamini_hochberg(p_values: np.ndarray) -> np.ndarray:
    """BH-adjusted p-values along the last axis (each row one family of tests)."""
    from scipy.stats import false_discovery_control

    if p_values.size == 0:
        return p_values
    return np.asarray(false_discovery_control(p_values, axis=-1), dtype="float64")


def _over_represented(
    current: pd.Series,
    periods: pd.Series,
    past: pd.Series,
    dimension: str,
    rules: OverRepresentationRules,
) -> list[OverRepresented]:
    """Test every period (the past ones too, for persistence) against its own baseline.

    ``current``: this period's names; ``past``/``periods``: the names and period labels of
    earlier complaints. A period's baseline is the pooled complaints of up to
    ``baseline_periods`` periods before it; a period without one is not tested.
    """
    from scipy.stats import binom

    marker = "\x00current"  # sorts after no period label: handled by position below
    past_known = past[past != UNKNOWN]
    labels = periods.loc[past_known.index].astype(str)
    order = sorted(set(labels))
    table = pd.crosstab(
        pd.Categorical(
            pd.concat([labels, pd.Series(marker, index=current.index)], ignore_index=True),
            categories=[*order, marker],
        ),
        pd.concat([past_known, current], ignore_index=True),
        dropna=False,
    )
    table = table.loc[:, [name for name in table.columns if name != UNKNOWN]]
    if table.shape[1] == 0:
        return []
    counts = table.to_numpy(dtype="float64")  # periods × names
    cumulative = np.vstack([np.zeros((1, counts.shape[1])), np.cumsum(counts, axis=0)])
    rows = np.arange(counts.shape[0])
    lower = np.maximum(rows - rules.baseline_periods, 0)
    baseline = cumulative[rows] - cumulative[lower]  # the periods [lower, row) pooled
    baseline_total = baseline.sum(axis=1, keepdims=True)
    totals = counts.sum(axis=1, keepdims=True)
    names = counts.shape[1]
    # add-half smoothing: an office new this period has a small, not a zero, baseline share
    expected = (baseline + 0.5) / (baseline_total + 0.5 * names)
    testable = (baseline_total > 0) & (totals > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        p_values = np.where(
            testable, binom.sf(counts - 1, np.maximum(totals, 1).astype(int), expected), 1.0
        )
        share = np.where(totals > 0, counts / np.maximum(totals, 1), 0.0)
        ratio = share / expected
    p_values = np.clip(np.nan_to_num(p_values, nan=1.0), 0.0, 1.0)
    q_values = _benjamini_hochberg(p_values)
    flagged = (
        testable
        & (q_values <= rules.alpha)
        & (counts >= rules.min_count)
        & (ratio >= rules.min_ratio)
    )
    # run length of flags ending at the current (last) period
    column_names = [str(name) for name in table.columns]
    in_row = np.cumprod(flagged[::-1], axis=0).sum(axis=0)
    last = counts.shape[0] - 1
    found = [
        OverRepresented(
            dimension=dimension,
            name=column_names[i],
            count=int(counts[last, i]),
            share=float(share[last, i]),
            baseline_share=float(expected[last, i]),
            ratio=float(ratio[last, i]),
            p_value=float(p_values[last, i]),
            q_value=float(q_values[last, i]),
            periods_in_row=int(in_row[i]),
            persistent=int(in_row[i]) >= rules.persistence_periods,
        )
        for i in np.flatnonzero(flagged[last])
    ]
    found.sort(key=lambda item: (item.q_value, -item.count, item.name))
    return found


def problem_reports(problems: pd.DataFrame, now: datetime | pd.Timestamp) -> ProblemReports:
    """Counts of data-set problem reports (the columns of ``PROBLEM_COLUMNS``): by kind and by
    data set (most first), how many are open now, open past their deadline, answered late."""
    absent = [name for name in PROBLEM_COLUMNS if name not in problems.columns]
    if absent:
        raise ValueError(f"the problem reports frame lacks the columns {', '.join(absent)}")
    now_utc = _utc(now)
    deadline = _timestamps(problems["deadline"])
    answered = _timestamps(problems["answered_at"])
    is_open = _labels(problems["status"]).isin(OPEN_STATUSES)
    return ProblemReports(
        total=len(problems),
        by_kind=_counts(_labels(problems["problem"])),
        by_dataset=_counts(_labels(problems["dataset"])),
        open=int(is_open.sum()),
        open_overdue=int((is_open & deadline.notna() & (deadline < now_utc)).sum()),
        answered_late=int(
            (~is_open & answered.notna() & deadline.notna() & (answered > deadline)).sum()
        ),
    )


def _period_column(history: pd.DataFrame) -> pd.Series:
    periods: pd.Series
    if "period" in history.columns:
        periods = history["period"]
    else:
        periods = _timestamps(history["received_at"]).dt.strftime("%Y-%m-%d")
    return periods


def summarise(
    complaints: pd.DataFrame,
    *,
    period_start: date | datetime | pd.Timestamp,
    period_end: date | datetime | pd.Timestamp,
    previous: pd.DataFrame,
    history: pd.DataFrame | None,
    now: datetime | pd.Timestamp,
    config: SummaryRules,
    agency: str | None = None,
    working_days: WorkingDays | None = None,
    problems: pd.DataFrame | None = None,
) -> ComplaintSummary:
    """The summary of one agency's complaints received in ``[period_start, period_end)``.

    ``complaints``: that period's complaints (the columns of ``COLUMNS``); ``previous``: the
    period before (for the change in volume); ``history``: complaints of earlier periods with
    a ``period`` column (any sortable label, e.g. the period's start as ``2026-11-02``; the
    baseline and the persistence of over-representation), or None to use ``previous`` alone
    as the baseline. ``now``: the moment deadlines are judged at. ``working_days(now,
    deadlines)`` gives the working days left to each deadline (the holiday calendar is
    core's); without it a ``working_days_left`` column is used if present, else Monday to
    Friday. ``agency``: named in the summary (default: the frame's single agency, if any).
    ``problems``: the period's problem reports about the agency's open data sets (the columns
    of ``PROBLEM_COLUMNS``), summed up under their own heading; None leaves them out.
    """
    frame = _ensure_columns(complaints)
    _ensure_columns(previous)
    rules = config
    now_utc = _utc(now)
    if agency is None:
        agencies = _labels(frame["agency"]).unique()
        agency = str(agencies[0]) if len(agencies) == 1 and agencies[0] != UNKNOWN else None
    start, end = _utc(period_start).date(), _utc(period_end).date()
    empty_deadlines = Deadlines(0, 0, 0, rules.near_breach_working_days)
    reports = problem_reports(problems, now_utc) if problems is not None else None
    if frame.empty:
        return ComplaintSummary(
            agency=agency,
            period_start=start,
            period_end=end,
            rules_version=rules.version,
            total=0,
            previous_total=len(previous),
            by_category=(),
            by_service=(),
            by_office=(),
            deadlines=empty_deadlines,
            themes=(),
            over_represented=(),
            rating=Rating(None, 0),
            list_top=rules.list_top,
            problems=reports,
        )
    if history is not None:
        _ensure_columns(history)
        past, past_periods = history, _period_column(history)
    else:
        past = previous
        past_periods = pd.Series("previous", index=previous.index)
    over: list[OverRepresented] = []
    for dimension in DIMENSIONS:
        over.extend(
            _over_represented(
                _labels(frame[dimension]).reset_index(drop=True),
                past_periods.reset_index(drop=True),
                _labels(past[dimension]).reset_index(drop=True),
                dimension,
                rules.over_representation,
            )
        )
    return ComplaintSummary(
        agency=agency,
        period_start=start,
        period_end=end,
        rules_version=rules.version,
        total=len(frame),
        previous_total=len(previous),
        by_category=_counts(_labels(frame["category"])),
        by_service=_counts(_labels(frame["service"])),
        by_office=_counts(_labels(frame["office"])),
        deadlines=_deadlines(frame, now_utc, rules, working_days),
        themes=_themes(frame, rules.themes),
        over_represented=tuple(over),
        rating=_rating(frame),
        list_top=rules.list_top,
        problems=reports,
    )
