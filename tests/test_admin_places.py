"""Service and office pages: the agency page's breakdowns for one service or office, linked
from the agency page, with recent comments scrubbed; another agency's service or office is
unknown (404) whatever the URL says. Office posters download for admins and the office's own
agency, audited."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.admin_fixtures import AGENCY_EMAIL, EMAILS, OTHER_AGENCY_EMAIL, AdminSite, running_admin
from tests.conftest import Seed
from tests.explorer_fixtures import ASTANA_COMMENT, IIN, store_raw_responses


@pytest.fixture
async def site(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed
) -> AsyncIterator[AdminSite]:
    async with running_admin(session_factory, seed) as running:
        await store_raw_responses(session_factory)
        yield running


async def test_the_agency_page_links_to_its_services_and_offices(site: AdminSite) -> None:
    analyst = await site.signed_in(EMAILS["analyst"])
    agency = await analyst.open("/admin/agencies/ALA")
    assert 'href="/admin/agencies/ALA/services/ALA-S1?days=90"' in agency.html
    assert 'href="/admin/agencies/ALA/offices/ALA-01?days=90"' in agency.html
    service = await analyst.open("/admin/agencies/ALA/services/ALA-S1?days=90")
    assert service.status == 200
    assert "Постановка в очередь в детский сад" in service.headings
    office = await analyst.open("/admin/agencies/ALA/offices/ALA-01")
    assert office.status == 200 and "ЦОН №1" in office.headings


async def test_a_service_page_has_the_agency_pages_breakdowns(site: AdminSite) -> None:
    analyst = await site.signed_in(EMAILS["analyst"])
    page = await analyst.open("/admin/agencies/ALA/services/ALA-S1")
    # the fixture's rollups: 150 ratings of ALA-S1, 120 of them 4 or 5
    assert "80,0\u00a0%" in page.html and "150" in page.html
    for heading in (
        "По местам обслуживания",
        "Удовлетворённость по месяцам",
        "Последние комментарии",
    ):
        assert heading in page.html
    assert "Срок нарушен" in page.html
    assert 'href="/admin/agencies/ALA/offices/ALA-01?days=90"' in page.html
    status, _h, body = await analyst.download(
        "/admin/agencies/ALA/services/ALA-S1?export=offices&format=csv"
    )
    assert status == 200 and "ЦОН №1" in body.decode("utf-8-sig")


async def test_an_office_page_lists_the_services_given_there(site: AdminSite) -> None:
    analyst = await site.signed_in(EMAILS["analyst"])
    page = await analyst.open("/admin/agencies/ALA/offices/ALA-01")
    assert "Услуги в этом месте" in page.html
    assert 'href="/admin/agencies/ALA/services/ALA-S1?days=90"' in page.html
    assert "Предоставление земельного участка" not in page.html  # no ratings at this office


async def test_comments_are_shown_scrubbed_on_the_agency_page(site: AdminSite) -> None:
    analyst = await site.signed_in(EMAILS["analyst"])
    page = await analyst.open("/admin/agencies/ALA")
    assert "Очередь была долгой, мой ИИН [IIN]" in page.html
    assert IIN not in page.html and ASTANA_COMMENT not in page.html
    service = await analyst.open("/admin/agencies/ALA/services/ALA-S1")
    assert "Спасибо" in service.html and "Очередь была долгой" not in service.html  # ALA-S2's


@pytest.mark.parametrize(
    "path",
    [
        "/admin/agencies/AST/services/AST-S1",
        "/admin/agencies/ALA/services/AST-S1",
        "/admin/agencies/AST/offices/AST-01",
        "/admin/agencies/ALA/offices/AST-01",
        "/admin/agencies/ALA/offices/AST-01/poster?format=svg",
    ],
)
async def test_another_agencys_service_or_office_is_not_found(site: AdminSite, path: str) -> None:
    almaty = await site.signed_in(AGENCY_EMAIL)
    page = await almaty.open(path)
    assert page.status == 404
    assert "Астан" not in page.html and ASTANA_COMMENT not in page.html
    status, _h, body = await almaty.download(path.split("?")[0] + "?export=trend&format=csv")
    assert status == 404 and "Астан".encode() not in body


async def test_a_service_under_the_wrong_agency_is_not_found_for_analysts_either(
    site: AdminSite,
) -> None:
    analyst = await site.signed_in(EMAILS["analyst"])
    assert (await analyst.open("/admin/agencies/ALA/services/AST-S1")).status == 404
    assert (await analyst.open("/admin/agencies/AST/services/AST-S1")).status == 200


@pytest.mark.parametrize(
    ("fmt", "kind", "magic"),
    [
        ("svg", "image/svg+xml", b"<svg"),
        ("png", "image/png", b"\x89PNG"),
        ("pdf", "application/pdf", b"%PDF"),
    ],
)
async def test_an_admin_downloads_todays_poster(
    site: AdminSite, fmt: str, kind: str, magic: bytes
) -> None:
    admin = await site.signed_in(EMAILS["admin"])
    status, headers, body = await admin.download(
        f"/admin/agencies/AST/offices/AST-01/poster?format={fmt}"
    )
    assert status == 200 and headers["Content-Type"] == kind
    assert body.startswith(magic)
    assert (
        "attachment" in headers["Content-Disposition"]
        and "poster-AST-01-" in headers["Content-Disposition"]
    )
    [event] = [e for e in await site.audit() if e.action == "poster"]
    assert event.details["office"] == "AST-01" and event.details["format"] == fmt


async def test_an_agency_user_downloads_its_own_offices_poster_only(site: AdminSite) -> None:
    almaty = await site.signed_in(AGENCY_EMAIL)
    office = await almaty.open("/admin/agencies/ALA/offices/ALA-01")
    assert "/admin/agencies/ALA/offices/ALA-01/poster?format=pdf" in office.html
    status, _h, body = await almaty.download("/admin/agencies/ALA/offices/ALA-01/poster?format=svg")
    assert status == 200 and "ЦОН №1".encode() in body
    astana = await site.signed_in(OTHER_AGENCY_EMAIL)
    status, _h, _b = await astana.download("/admin/agencies/ALA/offices/ALA-01/poster?format=svg")
    assert status == 404


async def test_analysts_get_no_posters(site: AdminSite) -> None:
    analyst = await site.signed_in(EMAILS["analyst"])
    office = await analyst.open("/admin/agencies/ALA/offices/ALA-01")
    assert "/poster" not in office.html
    page = await analyst.open("/admin/agencies/ALA/offices/ALA-01/poster?format=svg")
    assert page.status == 403
