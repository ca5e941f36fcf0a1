"""Publishing a score run on the public results pages: computing never publishes; an admin
publishes a run after a confirmation that names it (methodology, version, period), which
withdraws the run published before it, and can withdraw it again; both are audited; analysts
and agencies cannot. Only a published run's scores reach the public agency page."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.models import ScoreRun
from results.pages import setup_results
from tests.admin_fixtures import ADMIN_EMAIL, AGENCY_EMAIL, ANALYST_EMAIL, AdminSite, running_admin
from tests.conftest import Seed
from tests.ranking_fixtures import PERIOD, ScoredYear, add_scored_year


@pytest.fixture
async def site(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed
) -> AsyncIterator[AdminSite]:
    async with running_admin(session_factory, seed) as running:
        yield running


@pytest.fixture
async def year(site: AdminSite) -> ScoredYear:
    return await add_scored_year(site.session_factory)


async def published(site: AdminSite) -> dict[int, str | None]:
    async with site.session_factory() as db:
        runs = await db.scalars(select(ScoreRun).order_by(ScoreRun.id))
        return {run.id: run.published_by for run in runs}


async def public_agency_page(session_factory: async_sessionmaker[AsyncSession], code: str) -> str:
    app = web.Application()
    setup_results(app, session_factory, refresh_seconds=0)
    async with TestClient(TestServer(app)) as client:
        response = await client.get(f"/results/agencies/{code}?lang=en&year={PERIOD}")
        assert response.status == 200
        return await response.text()


async def test_an_admin_publishes_and_withdraws_a_run_after_confirming_audited(
    site: AdminSite, year: ScoredYear, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    run_id = year.run_ids["proposed-s30"]
    assert set((await published(site)).values()) == {None}  # computing published nothing
    before = await public_agency_page(session_factory, "MJ")
    assert "No published evaluation for this body yet." in before

    for reader in (ANALYST_EMAIL, AGENCY_EMAIL):
        other = await site.signed_in(reader)
        assert (await other.open(f"/admin/ranking/runs/{run_id}/publish")).status == 403
        assert (await other.send(f"/admin/ranking/runs/{run_id}/publish")).status == 403
    assert set((await published(site)).values()) == {None}

    admin = await site.signed_in(ADMIN_EMAIL)
    listed = await admin.open(f"/admin/ranking?period={PERIOD}")
    assert f"/admin/ranking/runs/{run_id}/publish" in listed.html
    confirm = await admin.open(f"/admin/ranking/runs/{run_id}/publish")
    assert confirm.status == 200 and confirm.heading == f"Публикация расчёта № {run_id}"
    assert "proposed-s30" in confirm.html and PERIOD in confirm.html
    assert set((await published(site)).values()) == {None}  # the confirmation publishes nothing
    no_token = await admin.post(f"/admin/ranking/runs/{run_id}/publish", [])
    assert no_token.status == 403 and set((await published(site)).values()) == {None}

    done = await admin.send(f"/admin/ranking/runs/{run_id}/publish")
    assert done.status == 200 and f"Расчёт № {run_id} опубликован." in done.html
    assert (await published(site))[run_id] == ADMIN_EMAIL
    [event] = [e for e in await site.audit() if e.action == "score_run_published"]
    assert event.actor == ADMIN_EMAIL and event.details["run"] == run_id
    assert event.details["methodology"] == "proposed-s30" and event.details["period"] == PERIOD
    assert event.details["withdrawn"] == []
    after = await public_agency_page(session_factory, "MJ")
    assert "No published evaluation for this body yet." not in after
    assert "How it was computed" in after

    withdraw = await admin.open(f"/admin/ranking/runs/{run_id}/publish")
    assert withdraw.heading == f"Снятие расчёта № {run_id} с публикации"
    gone = await admin.send(f"/admin/ranking/runs/{run_id}/withdraw")
    assert gone.status == 200 and f"Расчёт № {run_id} снят с публикации." in gone.html
    assert (await published(site))[run_id] is None
    [event] = [e for e in await site.audit() if e.action == "score_run_withdrawn"]
    assert event.details["run"] == run_id
    assert "Расчёт снят с публикации" in (await admin.open("/admin/audit")).html
    assert "No published evaluation for this body yet." in await public_agency_page(
        session_factory, "MJ"
    )
    assert (await admin.open("/admin/ranking/runs/99999999/publish")).status == 404
    assert (await admin.send("/admin/ranking/runs/99999999/withdraw")).status == 404
