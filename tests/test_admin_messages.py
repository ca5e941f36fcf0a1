"""The admin speaks kk, ru and en everywhere: every key of admin/web/messages.yaml has all
three, and every key the pages and code ask for exists."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import get_args

from hypothesis import assume, given
from hypothesis import strategies as st

from admin.audit import Action
from admin.web import words
from admin.web.period import PERIODS
from admin.web.render import NAVIGATION
from core import language
from core.models import AdminRole, AgencyKind, Channel
from core.rollups import DEFECTS
from scoring import load_methodology
from scoring.compute import STATUSES
from scoring.model import Unit

ADMIN = Path(__file__).parent.parent / "admin"


def test_every_key_has_kazakh_russian_and_english() -> None:
    assert words.problems() == []
    assert len(words.WORDS.entries) > 100


def test_no_key_is_defined_twice() -> None:
    # YAML keeps the last of two equal keys silently: one of the texts would never show
    keys = re.findall(r"^([a-z0-9_]+):", (ADMIN / "web" / "messages.yaml").read_text(), re.M)
    assert sorted({key for key in keys if keys.count(key) > 1}) == []


def test_every_literal_key_in_templates_and_code_exists() -> None:
    used: set[str] = set()
    for template in (ADMIN / "web" / "templates").glob("*.html"):
        used |= set(re.findall(r"\bt\(\s*\"([a-z0-9_]+)\"\s*[,)]", template.read_text()))
    for module in ADMIN.rglob("*.py"):
        text = module.read_text()
        used |= set(re.findall(r"\bsay\(\s*\"([a-z0-9_]+)\"", text))
        used |= set(re.findall(r"message_page\(\s*request,\s*\"([a-z0-9_]+)\"", text))
        used |= set(re.findall(r"Column\(\s*\"[a-z_]+\",\s*\"([a-z0-9_]+)\"", text))
        used |= set(re.findall(r"Table\(\s*\"[a-z_]+\",\s*\"([a-z0-9_]+)\"", text))
    assert len(used) > 60
    assert sorted(used - set(words.WORDS.entries)) == []


def test_every_key_built_from_a_name_exists() -> None:
    built = (
        [f"role_{r.value}" for r in AdminRole]
        + [f"kind_{k.value}" for k in AgencyKind]
        + [f"channel_{c.value}" for c in Channel]
        + [f"action_{a.value}" for a in Action]
        + [f"defect_{name}" for name, _m, _v in DEFECTS]
        + [f"period_{p}" for p in PERIODS]
        + [key for _route, key, _roles in NAVIGATION]
        + [f"status_{s}" for s in (400, 403, 404, 405, 409, 503)]
        + [f"grade_{band.key}" for band in load_methodology("kz-2020").grades]
        + [f"grade_range_{band.key}" for band in load_methodology("kz-2020").grades]
        + [f"score_status_{status}" for status in STATUSES]
        + [f"unit_{unit}" for unit in get_args(Unit)]
        + [f"change_{what}" for what in ("only_a", "only_b", "weight", "formula", "label")]
        + [f"only_kind_{k.value}" for k in AgencyKind]
    )
    assert sorted(set(built) - set(words.WORDS.entries)) == []


def test_numbers_are_written_as_each_language_writes_them() -> None:
    from admin.web.render import Formats

    assert Formats("ru").share(0.734) == "73,4\u00a0%"
    assert Formats("kk").int(12345) == "12\u00a0345" and Formats("ru").int(1234.6) == "1\u00a0235"
    assert Formats("en").int(12345) == "12,345"
    assert Formats("en").interval((0.5, 0.625)) == "50.0–62.5\u00a0%"
    assert Formats("ru").points(73.46) == "73,5" and Formats("en").points(None) == "—"
    assert Formats("en").points_interval((61.25, 70.0)) == "61.2–70.0"
    assert [Formats("en").change(c) for c in (2, 0, -1, None)] == ["+2", "0", "\u22121", "—"]


@given(
    count=st.integers(min_value=0, max_value=10**9),
    minutes=st.decimals(min_value=0, max_value=10**4, places=1, allow_nan=False),
    lang=st.sampled_from(["kk", "ru"]),
)
def test_a_rules_flag_detail_is_read_in_the_readers_language(
    count: int, minutes: Decimal, lang: str
) -> None:
    from admin.web.words import flag_detail

    for stored in (
        f"completed {count} s after it was opened",
        f"{count} completed by one respondent within {minutes:g} min",
        f"{count} completed from one network address within {minutes:g} min",
        f"{count} top scores at one office within {minutes:g} min",
    ):
        shown = flag_detail(stored, lang)
        assert not re.search(r"[A-Za-z]{2,}", shown), (stored, shown)
        assert language.number(count, lang) in shown


@given(note=st.text(max_size=300), lang=st.sampled_from(["kk", "ru", "en"]))
def test_an_analysts_own_note_shows_as_written(note: str, lang: str) -> None:
    from admin.web.words import flag_detail

    assume(not re.search(r"after it was opened|within .* min$", note))
    assert flag_detail(note, lang) == note


def test_dates_and_times_are_written_by_babel_on_almatys_clock() -> None:
    from datetime import UTC, date, datetime

    from admin.web.render import Formats

    assert Formats("ru").day(date(2026, 12, 7)) == "7 дек. 2026\u202fг."
    assert Formats("en").day(None) == "—"
    # a run computed at 10:05 UTC was computed at 15:05 in Almaty
    assert Formats("ru").datetime(datetime(2026, 12, 7, 10, 5, tzinfo=UTC)).endswith("15:05")
    templates = ADMIN / "web" / "templates"
    assert [p.name for p in templates.glob("*.html") if "strftime" in p.read_text()] == []
