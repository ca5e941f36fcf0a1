"""Kazakhstan's working days on known dates: the `holidays` package's calendar with the decreed
transfers of 2024 and 2025 and the announced Kurban ait over it, and the start-up warning for a
year whose Kurban ait is only estimated."""

from __future__ import annotations

import logging
from datetime import date

import pytest

from core.working_days import calendar_from, kazakhstan_calendar, warn_about_estimated_feasts

KZ = kazakhstan_calendar()


@pytest.mark.parametrize(
    ("day", "working", "why"),
    [
        (date(2024, 5, 4), True, "Saturday worked by the 2024 decree"),
        (date(2024, 5, 8), False, "its day off, between 7 and 9 May"),
        (date(2024, 5, 7), False, "Defender of the Fatherland Day"),
        (date(2024, 3, 25), False, "Nauryz 23 March 2024 was a Saturday: Monday off"),
        (date(2024, 6, 17), True, "Kurban ait 2024 was a Sunday and is not transferred"),
        (date(2025, 1, 3), False, "Friday off by the 2025 decree"),
        (date(2025, 1, 5), True, "Sunday worked for it"),
        (date(2025, 1, 6), True, "an ordinary Monday"),
        (date(2025, 3, 10), False, "8 March 2025 was a Saturday"),
        (date(2025, 3, 24), False, "Nauryz 22 March (Saturday) moved"),
        (date(2025, 3, 25), False, "Nauryz 23 March (Sunday) moved"),
        (date(2025, 3, 26), True, "after Nauryz"),
        (date(2025, 6, 6), False, "Kurban ait 2025"),
        (date(2025, 12, 16), False, "Independence Day"),
        (date(2026, 1, 7), False, "Orthodox Christmas"),
        (date(2026, 5, 27), False, "Kurban ait 2026, as announced"),
        (date(2026, 3, 9), False, "8 March 2026 was a Sunday"),
    ],
)
def test_known_days(day: date, working: bool, why: str) -> None:
    assert KZ.is_working_day(day) is working, why


def test_a_deadline_across_the_2025_new_year_transfer() -> None:
    # Friday 27 December 2024 + 5 working days: 30, 31 Dec, (1, 2, 3 Jan off), Sun 5 Jan
    # worked, Mon 6, Tue 7 off (Christmas), Wed 8
    assert KZ.add_working_days(date(2024, 12, 27), 5) == date(2025, 1, 8)


def test_an_announced_kurban_ait_replaces_the_estimate() -> None:
    estimated = calendar_from({}, range(2028, 2029))
    assert date(2028, 5, 5) in estimated.days_off and 2028 in estimated.estimated_feasts
    announced = calendar_from({"kurban_ait": {2028: "2028-05-04"}}, range(2028, 2029))
    assert date(2028, 5, 4) in announced.days_off
    assert announced.is_working_day(date(2028, 5, 5))
    assert 2028 not in announced.estimated_feasts


def test_overrides_add_and_remove_days() -> None:
    calendar = calendar_from(
        {
            "days_off": {2026: ["2026-12-31"]},
            "working_days": {2026: ["2026-12-26"]},
            "not_off": {2026: ["2026-12-16"]},
        },
        range(2026, 2027),
    )
    assert not calendar.is_working_day(date(2026, 12, 31))
    assert calendar.is_working_day(date(2026, 12, 26))  # a Saturday
    assert calendar.is_working_day(date(2026, 12, 16))


def test_start_up_warns_for_a_year_whose_kurban_ait_is_only_estimated(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="core.working_days"):
        years = warn_about_estimated_feasts(date(2026, 12, 7))
    assert years == [2027]
    assert "Kurban ait 2027 is an estimate" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="core.working_days"):
        assert warn_about_estimated_feasts(date(2025, 3, 1)) == []
    assert not caplog.text
