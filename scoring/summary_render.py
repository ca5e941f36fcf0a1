"""A complaint summary as a Telegram-sized plain-text message in kk, ru or en.

    from scoring.summary_render import render_summary
    text = render_summary(summary, "kk")      # at most 4096 characters

Plain text, not HTML: nothing from a complaint can be taken for markup. The texts are in
``scoring/summary_messages.yaml``. Too long a message is shortened step by step (see
``render_summary``); the admin page shows the whole summary from ``summary.as_dict()``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from functools import cache
from importlib import resources
from typing import Any, Final, Literal

import yaml

from scoring.complaint_summary import UNKNOWN, ComplaintSummary, Count, ProblemReports

MAX_CHARS: Final = 4096  # Telegram's limit for one message
SummaryLanguage = Literal["kk", "ru", "en"]
LANGUAGES: Final = ("kk", "ru", "en")
# The shortening steps: (quotes per theme, names listed per count)
_STEPS: Final = ((None, None), (1, None), (0, 5), (0, 3))


@cache
def summary_texts() -> dict[str, dict[str, Any]]:
    """The message texts, by language."""
    source = resources.files("scoring").joinpath("summary_messages.yaml")
    texts: dict[str, dict[str, Any]] = yaml.safe_load(source.read_text(encoding="utf-8"))
    return texts


def _number(value: float) -> str:
    return f"{value:.1f}".replace(".", ",") if value != int(value) else str(int(value))


def _percent(value: float) -> str:
    return f"{100 * value:.0f}"


def _change(summary: ComplaintSummary, texts: Mapping[str, Any]) -> str:
    share = summary.change_share
    if share is None:
        return str(texts["change_new"])
    if summary.change == 0:
        return str(texts["change_same"])
    sign = "+" if summary.change > 0 else "−"
    return f"{sign}{abs(summary.change)}, {sign}{abs(100 * share):.0f}%"


def _name(name: str, texts: Mapping[str, Any], categories: bool = False) -> str:
    if name == UNKNOWN:
        return str(texts["unknown"])
    if categories:
        return str(texts["categories"].get(name, name))
    return name


def _counts(
    title: str,
    counts: tuple[Count, ...],
    texts: Mapping[str, Any],
    top: int,
    *,
    categories: bool = False,
) -> list[str]:
    if not counts:
        return []
    lines = [title]
    lines += [f"• {_name(c.name, texts, categories)}: {c.count}" for c in counts[:top]]
    if len(counts) > top:
        rest = sum(c.count for c in counts[top:])
        lines.append(f"  {texts['more'].format(count=len(counts) - top)} ({rest})")
    return lines


def _problem_lines(reports: ProblemReports | None, texts: Mapping[str, Any], top: int) -> list[str]:
    """The data-set problem reports under their own heading (nothing when none were given)."""
    if reports is None:
        return []
    if reports.total == 0:
        return ["", str(texts["problems_none"])]
    kinds = texts["problem_kinds"]
    lines = [
        "",
        texts["problems"].format(
            total=reports.total,
            open=reports.open,
            overdue=reports.open_overdue,
            late=reports.answered_late,
        ),
    ]
    named = tuple(Count(str(kinds.get(c.name, c.name)), c.count) for c in reports.by_kind)
    lines += _counts(texts["problems_by_kind"], named, texts, top)
    lines += _counts(texts["problems_by_dataset"], reports.by_dataset, texts, top)
    return lines


def _lines(
    summary: ComplaintSummary,
    texts: Mapping[str, Any],
    quotes: int | None,
    top: int,
) -> list[str]:
    # the period is [start, end): people read the last day, not the day after it
    last = max(summary.period_start, summary.period_end - timedelta(days=1))
    dates = {"start": summary.period_start.isoformat(), "end": last.isoformat()}
    if summary.agency:
        lines = [texts["title"].format(agency=summary.agency, **dates)]
    else:
        lines = [texts["title_no_agency"].format(**dates)]
    if summary.is_empty:
        nothing = texts["nothing"].format(previous=summary.previous_total)
        reports = summary.problems
        # no complaints and no problem reports: the two-line "nothing this period" message
        told = _problem_lines(reports, texts, top) if reports and reports.total else []
        return [*lines, nothing, *told]
    lines.append(
        texts["volume"].format(
            total=summary.total,
            previous=summary.previous_total,
            change=_change(summary, texts),
        )
    )
    deadlines = summary.deadlines
    lines += [
        "",
        texts["deadlines"].format(
            breached=deadlines.breached,
            late=deadlines.answered_late,
            overdue=deadlines.open_overdue,
        ),
        texts["due_soon"].format(days=deadlines.due_soon_days, count=deadlines.due_soon),
    ]
    if summary.rating.mean is None:
        lines.append(texts["no_rating"])
    else:
        lines.append(
            texts["rating"].format(mean=_number(round(summary.rating.mean, 1)), n=summary.rating.n)
        )
    if summary.over_represented:
        lines += ["", texts["over"]]
        for item in summary.over_represented:
            line = texts["over_line"].format(
                dimension=texts[item.dimension],
                name=_name(item.name, texts),
                count=item.count,
                share=_percent(item.share),
                baseline=_percent(item.baseline_share),
            )
            if item.persistent:
                line += f" — {texts['persistent'].format(periods=item.periods_in_row)}"
            lines.append(f"• {line}")
    if summary.themes:
        lines += ["", texts["themes"]]
        for number, theme in enumerate(summary.themes, start=1):
            label = ", ".join(theme.label)
            lines.append(texts["theme"].format(number=number, label=label, size=theme.size))
            shown = theme.quotes if quotes is None else theme.quotes[:quotes]
            lines += [f"  «{quote}»" for quote in shown]
    lines.append("")
    lines += _counts(texts["by_category"], summary.by_category, texts, top, categories=True)
    lines += _counts(texts["by_service"], summary.by_service, texts, top)
    lines += _counts(texts["by_office"], summary.by_office, texts, top)
    lines += _problem_lines(summary.problems, texts, top)
    return lines


def render_summary(
    summary: ComplaintSummary,
    lang: SummaryLanguage,
    *,
    limit: int = MAX_CHARS,
    top: int | None = None,
) -> str:
    """The summary as plain text in ``lang``, at most ``limit`` characters.

    Order: title, volume and change, deadlines, rating of answers, over-represented offices and
    services, themes with quotes, then the counts by category, service and office (``top``
    names each, by default the rules' ``list_top``; the rest summed), then, when the summary
    has them, the problem reports about the agency's open data sets (by kind and data set).
    Too long, it is shortened in steps until it fits: one quote per theme, then no quotes and
    5 names per count, then 3 names; if it still does not fit, whole lines are cut from the
    end and a last line says the message was shortened. An agency without complaints gets the
    title and "nothing this period" (and the problem reports, when there are any).
    """
    if lang not in LANGUAGES:
        raise ValueError(f"a summary is written in kk, ru or en, not {lang!r}")
    texts = summary_texts()[lang]
    top = summary.list_top if top is None else top
    for quotes, names in _STEPS:
        text = "\n".join(_lines(summary, texts, quotes, min(names, top) if names else top)).rstrip()
        if len(text) <= limit:
            return text
    notice = str(texts["truncated"])
    kept: list[str] = []
    used = len(notice) + 1
    for line in text.split("\n"):
        line = (
            line if len(line) <= limit - len(notice) - 1 else line[: limit - len(notice) - 2] + "…"
        )
        if used + len(line) + 1 > limit:
            break
        kept.append(line)
        used += len(line) + 1
    return "\n".join([*kept, notice])
