"""A complaint summary as a downloadable report: a workbook with one sheet per section (key
figures, categories, services, offices, themes with their quotes, over-represented offices and
services), or the plain-text message at full length. Labels in the reader's language."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from admin.summaries import SummaryPeriod
from admin.web import words
from core import language
from core.cell_text import xlsx_cell
from scoring.complaint_summary import UNKNOWN, ComplaintSummary, Count
from scoring.summary_render import SummaryLanguage, render_summary

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TEXT = "text/plain; charset=utf-8"
# a text download is the whole summary: no Telegram limit, every name listed
UNLIMITED = 10**9


@dataclass(frozen=True)
class Sheet:
    title: str  # message key
    headers: tuple[str, ...]  # message keys
    rows: list[tuple[Any, ...]]
    percent: frozenset[int] = frozenset()  # 0-based columns holding shares


def name_of(name: str, lang: str) -> str:
    return words.say("summary_unknown", lang) if name == UNKNOWN else name


def category_name(name: str, lang: str) -> str:
    return name_of(name, lang) if name == UNKNOWN else words.say(f"complaint_category_{name}", lang)


def problem_name(name: str, lang: str) -> str:
    return name_of(name, lang) if name == UNKNOWN else words.say(f"dataset_problem_{name}", lang)


def _counted(
    counts: tuple[Count, ...],
    total: int,
    lang: str,
    label: Callable[[str, str], str] = name_of,
) -> list[tuple[Any, ...]]:
    return [(label(c.name, lang), c.count, c.count / total if total else None) for c in counts]


def _problem_sheets(summary: ComplaintSummary, lang: str) -> list[Sheet]:
    """The data-set problem reports' own sheets, when the summary counted them."""
    problems = summary.problems
    if problems is None:
        return []
    say = words.say
    figures = [
        (say("summary_problems_total", lang), problems.total),
        (say("summary_problems_open", lang), problems.open),
        (say("summary_open_overdue", lang), problems.open_overdue),
        (say("summary_answered_late", lang), problems.answered_late),
    ]
    headers = ("summary_name", "summary_count", "summary_share")
    return [
        Sheet("summary_sheet_problems", ("summary_figure", "summary_value"), figures),
        Sheet(
            "summary_problems_by_kind",
            headers,
            _counted(problems.by_kind, problems.total, lang, problem_name),
            frozenset({2}),
        ),
        Sheet(
            "summary_problems_by_dataset",
            headers,
            _counted(problems.by_dataset, problems.total, lang),
            frozenset({2}),
        ),
    ]


def _on_almatys_clock(moment: datetime, lang: str) -> str:
    return f"{language.moment(moment, lang)} ({words.say('time_zone_almaty', lang)})"


def sheets(
    summary: ComplaintSummary, period: SummaryPeriod, lang: str, generated: datetime
) -> list[Sheet]:
    """The report's sections as tables (what the workbook holds, sheet by sheet)."""
    say = words.say
    deadlines, rating = summary.deadlines, summary.rating
    overview: list[tuple[Any, ...]] = [
        (say("col_agency", lang), summary.agency or ""),
        (say("summary_kind", lang), say(f"summary_kind_{period.kind}", lang)),
        (say("summary_first_day", lang), period.start.isoformat()),
        (say("summary_last_day", lang), period.last_day.isoformat()),
        (say("summary_total", lang), summary.total),
        (say("summary_previous", lang), summary.previous_total),
        (say("summary_change", lang), summary.change),
        (say("summary_change_share", lang), summary.change_share),
        (say("summary_breached", lang), deadlines.breached),
        (say("summary_answered_late", lang), deadlines.answered_late),
        (say("summary_open_overdue", lang), deadlines.open_overdue),
        (say("summary_due_soon", lang, days=deadlines.due_soon_days), deadlines.due_soon),
        (say("summary_rating", lang), None if rating.mean is None else round(rating.mean, 2)),
        (say("summary_rating_n", lang), rating.n),
        (say("summary_rules_version", lang), summary.rules_version),
        (say("summary_generated", lang), _on_almatys_clock(generated, lang)),
    ]
    if summary.is_empty:
        overview.append((say("summary_nothing_title", lang), say("summary_nothing", lang)))
        return [
            Sheet("summary_sheet_overview", ("summary_figure", "summary_value"), overview),
            *_problem_sheets(summary, lang),
        ]
    count_headers = ("summary_name", "summary_count", "summary_share")
    themes = [
        (
            number,
            ", ".join(theme.label),
            theme.size,
            ", ".join(f"{code}: {n}" for code, n in sorted(theme.languages.items())),
            *(theme.quotes + ("",) * 3)[:3],
        )
        for number, theme in enumerate(summary.themes, start=1)
    ]
    over = [
        (
            say(f"summary_dimension_{item.dimension}", lang),
            name_of(item.name, lang),
            item.count,
            item.share,
            item.baseline_share,
            round(item.ratio, 2),
            item.p_value,
            item.q_value,
            item.periods_in_row,
            say("yes" if item.persistent else "no", lang),
        )
        for item in summary.over_represented
    ]
    return [
        Sheet(
            "summary_sheet_overview",
            ("summary_figure", "summary_value"),
            overview,
        ),
        Sheet(
            "summary_by_category",
            count_headers,
            _counted(summary.by_category, summary.total, lang, category_name),
            frozenset({2}),
        ),
        Sheet(
            "summary_by_service",
            count_headers,
            _counted(summary.by_service, summary.total, lang),
            frozenset({2}),
        ),
        Sheet(
            "summary_by_office",
            count_headers,
            _counted(summary.by_office, summary.total, lang),
            frozenset({2}),
        ),
        Sheet(
            "summary_themes",
            (
                "summary_theme_number",
                "summary_theme_words",
                "summary_count",
                "summary_theme_languages",
                "summary_quote_1",
                "summary_quote_2",
                "summary_quote_3",
            ),
            themes,
        ),
        Sheet(
            "summary_over",
            (
                "summary_dimension",
                "summary_name",
                "summary_count",
                "summary_share",
                "summary_baseline_share",
                "summary_ratio",
                "summary_p_value",
                "summary_q_value",
                "summary_periods_in_row",
                "summary_persistent",
            ),
            over,
            frozenset({3, 4}),
        ),
        *_problem_sheets(summary, lang),
    ]


def _text(value: Any) -> Any:
    return xlsx_cell(value)


def as_xlsx(
    summary: ComplaintSummary, period: SummaryPeriod, lang: str, generated: datetime
) -> bytes:
    book = Workbook()
    first = book.active
    assert first is not None
    book.remove(first)
    for sheet in sheets(summary, period, lang, generated):
        title = re.sub(r"[\[\]\*\?/\\:]", " ", words.say(sheet.title, lang))[:31]
        page = book.create_sheet(title or sheet.title[:31])
        page.append([words.say(header, lang) for header in sheet.headers])
        for cell in page[1]:
            cell.font = Font(bold=True)
        for row in sheet.rows:
            page.append([_text(value) for value in row])
        for line in page.iter_rows(min_row=2):
            for cell in line:
                # a citizen's text starting with "=" is text, never a formula
                if isinstance(cell.value, str) and cell.value.startswith("="):
                    cell.data_type = "s"
                if cell.column - 1 in sheet.percent and isinstance(cell.value, float):
                    cell.number_format = "0.0%"
                if isinstance(cell.value, str) and len(cell.value) > 60:
                    cell.alignment = Alignment(wrap_text=True, vertical="top")
        for position in range(1, len(sheet.headers) + 1):
            letter = page.cell(row=1, column=position).column_letter
            longest = max(
                (
                    len(str(c.value or ""))
                    for (c,) in page.iter_rows(min_col=position, max_col=position)
                ),
                default=10,
            )
            page.column_dimensions[letter].width = min(70, max(12, longest + 2))
        page.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def as_text(summary: ComplaintSummary, lang: SummaryLanguage) -> bytes:
    """The plain-text message, whole: every quote and every name."""
    text = render_summary(summary, lang, limit=UNLIMITED, top=UNLIMITED)
    return (text + "\n").encode("utf-8")
