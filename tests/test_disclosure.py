"""The public disclosure rule is read from its versioned file, never from code."""

from __future__ import annotations

from results.disclosure import disclosure_rule


def test_the_shipped_rule_hides_cells_below_one_hundred() -> None:
    rule = disclosure_rule()
    assert rule.minimum_cell == 100 and rule.version
    assert not rule.shows(99) and rule.shows(100)
