"""The demo's official indicators: one row per agency and input for the demo year, of the
magnitudes in docs/domain.md §4 (the 2018 national totals, shared among the bodies by a size
factor), better or worse by each body's own "strength", so scores spread believably.

The shipped file qanagat/demo_indicators.csv is this module's output; regenerate it with

    .venv/bin/python -m qanagat.demo_indicators > qanagat/demo_indicators.csv

(tests/test_demo.py checks that the file and the generator agree). Deterministic: fixed seed.
"""

from __future__ import annotations

import csv
import random
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

DEMO_PERIOD = "2025"
INDICATORS_FILE = Path(__file__).with_name("demo_indicators.csv")
SEED = 2025

# docs/domain.md §4, 2018: national totals per year (central bodies, local bodies)
NATIONAL = {
    "services_delivered": (73.6e6, 79.0e6),
    "service_deadline_violations": (1_500, 3_400),
    "unjustified_refusals": (140, 151),
    "incomplete_package_services": (400, 6_900),
    "extra_documents_requests": (4_400, 11_700),
    "quality_complaints": (106, 156),
    "open_data_planned": (1_086, 1_557),
    "complaints_reviewed": (844_000, 776_000),
    "complaints_late": (931, 1_388),
    "complaints_court_upheld": (27, 50),
    "complaints_repeat_justified": (360, 318),
}
BODIES = (16, 17)  # central, local bodies the totals are shared among
DEFECTS = (
    "service_deadline_violations",
    "unjustified_refusals",
    "incomplete_package_services",
    "extra_documents_requests",
    "quality_complaints",
)
COMPLAINT_DEFECTS = ("complaints_late", "complaints_court_upheld", "complaints_repeat_justified")


@dataclass(frozen=True)
class Profile:
    """How a demo body performs: `strength` drives the official figures, `survey_quality` the
    chance that a citizen's answer is a good one (related to strength, not equal to it, so the
    two methodologies rank the bodies differently)."""

    code: str
    kind: str
    size: float
    strength: float
    survey_quality: float


def profiles(codes: list[tuple[str, str]], seed: int = SEED) -> list[Profile]:
    """One profile per (code, kind), strengths spread evenly over 0.05-1 in a seeded order."""
    rng = random.Random(seed)
    strengths = [0.05 + 0.95 * i / (len(codes) - 1) for i in range(len(codes))]
    rng.shuffle(strengths)
    result = []
    for (code, kind), strength in zip(codes, strengths, strict=True):
        size = round(rng.lognormvariate(0, 0.5), 3)
        other = rng.random()
        quality = min(0.97, max(0.35, 0.35 + 0.6 * (0.45 * strength + 0.55 * other)))
        result.append(Profile(code, kind, size, strength, round(quality, 3)))
    return result


def _clip(value: float, low: float, high: float) -> float:
    return min(high, max(low, value))


def indicators(items: list[Profile], seed: int = SEED) -> list[tuple[str, str, str, str, str]]:
    """Rows `agency, period, input, value, kind` for every profile."""
    rng = random.Random(seed + 1)
    # the research's new indicators (automation of local bodies, proactive services, open legal
    # acts) draw from their own generator, so the earlier figures stay as they were
    extra = random.Random(seed + 2)
    sizes = {kind: sum(p.size for p in items if p.kind == kind) for kind in ("central", "local")}
    rows: list[tuple[str, str, str, str, str]] = []
    for profile in items:
        side = 0 if profile.kind == "central" else 1
        share = profile.size / sizes[profile.kind]
        weak = 1 - profile.strength
        # the weakest body has about 30 times the national defect rates, the best a third
        multiplier = 0.3 + 30 * weak**3

        def points(
            base: float, spread: float, noise: float, strength: float = profile.strength
        ) -> float:
            return round(_clip(base + spread * strength + rng.gauss(0, noise), 0, 100), 1)

        services = round(NATIONAL["services_delivered"][side] * share)
        reviewed = round(
            services
            * NATIONAL["complaints_reviewed"][side]
            / NATIONAL["services_delivered"][side]
            * rng.uniform(0.8, 1.2)
        )
        values: dict[str, float] = {
            "goal_achievement": points(50, 48, 3),
            "hr_management": points(55, 40, 5),
            "it_use": points(55, 40, 5),
            "services_delivered": services,
            "openness_score": points(55, 40, 5),
            "complaints_reviewed": reviewed,
            "internal_control_share": round(
                _clip(0.45 + 0.53 * profile.strength + rng.gauss(0, 0.03), 0, 1), 3
            ),
        }
        for name in DEFECTS:
            rate = NATIONAL[name][side] / NATIONAL["services_delivered"][side]
            values[name] = round(services * rate * multiplier * rng.uniform(0.8, 1.2))
        for name in COMPLAINT_DEFECTS:
            rate = NATIONAL[name][side] / NATIONAL["complaints_reviewed"][side]
            values[name] = round(reviewed * rate * multiplier * rng.uniform(0.8, 1.2))
        planned = max(
            5, round(NATIONAL["open_data_planned"][side] / BODIES[side] * rng.uniform(0.6, 1.4))
        )
        values["open_data_planned"] = planned
        values["open_data_published"] = round(
            planned * _clip(0.55 + 0.45 * profile.strength + rng.gauss(0, 0.04), 0, 1)
        )
        if profile.kind == "central":
            values["automation_score"] = points(50, 45, 5)
        values |= _new_indicators(profile, extra)
        for name in sorted(values):
            value = values[name]
            text = str(int(value)) if float(value).is_integer() else repr(value)
            rows.append((profile.code, DEMO_PERIOD, name, text, profile.kind))
    return rows


LEGAL_ACTS = (
    "legal_acts_monitoring",
    "legal_acts_recommendations",
    "legal_acts_proposals_adopted",
    "legal_acts_users_satisfied",
    "legal_acts_publications",
    "legal_acts_public_organisations",
)


def _new_indicators(profile: Profile, rng: random.Random) -> dict[str, float]:
    """The inputs the research's proposal adds: better with the body's strength, with noise."""

    def share(base: float, spread: float, noise: float) -> float:
        return round(_clip(base + spread * profile.strength + rng.gauss(0, noise), 0, 1), 3)

    values: dict[str, float] = {
        "openness_other_score": round(
            _clip(55 + 40 * profile.strength + rng.gauss(0, 5), 0, 100), 1
        ),
        "proactive_services_share": share(0.05, 0.4, 0.05),
    }
    values |= {name: share(0.4, 0.55, 0.08) for name in LEGAL_ACTS}
    if profile.kind == "local":
        values["automation_in_period"] = round(
            _clip(45 + 45 * profile.strength + rng.gauss(0, 6), 0, 100), 1
        )
    return values


def demo_codes() -> list[tuple[str, str]]:
    from qanagat.demo import CENTRAL, LOCAL

    return [(row[0], "central") for row in CENTRAL] + [(row[0], "local") for row in LOCAL]


def write(out: TextIO) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["agency", "period", "input", "value", "kind"])
    writer.writerows(indicators(profiles(demo_codes())))


if __name__ == "__main__":
    write(sys.stdout)
