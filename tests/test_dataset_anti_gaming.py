"""Open-data ratings under the service responses' anti-gaming rules: a burst from one network,
a rating too fast to be read, are kept, flagged and left out of the open-data inputs; problem
reports are limited per network and per data set."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import reporting_day, utcnow
from core.dataset_inputs import dataset_inputs
from core.integrity.flags import Rules
from core.periods import parse_period
from tests.conftest import Seed
from tests.dataset_flow_fixtures import add_registry, ratings, reports, running_dataset_web_app
from tests.web_fixtures import WebApp


def rules(*, min_seconds: int = 0, per_network: int = 1000) -> Rules:
    return Rules.model_validate(
        {
            "fast_completion": {"min_seconds": min_seconds},
            "respondent_burst": {"window_minutes": 60, "max_responses": 1000},
            "network_burst": {"window_minutes": 60, "max_responses": per_network},
            "office_top_burst": {
                "window_minutes": 15,
                "max_top_scores": 1000,
                "metric": "satisfaction",
                "top_value": "5",
            },
        }
    )


async def rate(app: WebApp, external_id: str, problem: str | None = None) -> None:
    """A new visitor (a browser of their own) rates the set, from the same address as all."""
    user = app.citizen("en-GB")
    landing = await user.open(f"/d/{external_id}")
    page = await user.post(landing.action, [("csrf", landing.hidden("csrf") or "")])
    for value in ("yes", "yes", "yes", "yes", "5"):
        page = await user.answer(value)
    if problem is None:
        page = await user.answer(skip=True)
    else:
        await user.answer(problem)
        page = await user.answer("The totals column does not add up")
    assert page.question is None, page.question  # completed


async def ratings_counted(session_factory: async_sessionmaker[AsyncSession]) -> float:
    period = parse_period(str(reporting_day(utcnow()).year))
    async with session_factory() as session:
        frame = await dataset_inputs(session, period)
    row = frame[(frame["input"] == "dataset_ratings")]
    return float(row["value"].sum())


@pytest.fixture
async def registry(session_factory: async_sessionmaker[AsyncSession], seed: Seed) -> None:
    await add_registry(session_factory, seed)


@pytest.mark.usefixtures("registry")
async def test_a_burst_from_one_network_is_flagged_and_not_counted(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with running_dataset_web_app(session_factory, rules(per_network=5)) as app:
        for _ in range(8):
            await rate(app, "ala_schools_2026")
    stored = await ratings(session_factory)
    assert len(stored) == 8  # kept, every one
    assert [r.flag for r in stored] == [None] * 5 + ["network_burst"] * 3
    assert all(
        r.address_digest is not None and b"127.0.0.1" not in r.address_digest for r in stored
    )
    assert await ratings_counted(session_factory) == 5


@pytest.mark.usefixtures("registry")
async def test_a_rating_completed_too_fast_to_read_is_flagged(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with running_dataset_web_app(session_factory, rules(min_seconds=20)) as app:
        await rate(app, "ala_schools_2026")
    [rating] = await ratings(session_factory)
    assert rating.flag == "fast_completion"
    assert await ratings_counted(session_factory) == 0


@pytest.mark.usefixtures("registry")
async def test_problem_reports_are_limited_per_network_and_per_set(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with running_dataset_web_app(session_factory, rules()) as app:
        for _ in range(5):
            await rate(app, "ala_schools_2026", problem="wrong_values")
        await rate(app, "ala_bus_routes", problem="outdated")
    filed = await reports(session_factory)
    # One report a day about a set from one network: five became one, not five complaints.
    assert sorted(r.problem.value for r in filed if r.problem) == ["outdated", "wrong_values"]
    assert len(await ratings(session_factory)) == 6  # the ratings themselves are kept
