"""The admin's open-data pages: one agency's data-set table (ratings with n and intervals from the
minimum sample, open problem reports, lateness by the stated frequency), sortable and exported
as CSV with a BOM and as XLSX; the national most / least trusted lists; agency users see their
own agency only."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import reporting_day
from core.models import DatasetState, UpdateFrequency
from tests.admin_fixtures import AGENCY_EMAIL, EMAILS, AdminSite, running_admin
from tests.conftest import Seed
from tests.dataset_fixtures import add_dataset, add_respondent, problem_report, rating


@pytest.fixture
async def site(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed
) -> AsyncIterator[AdminSite]:
    async with running_admin(session_factory, seed) as running:
        today = reporting_day(running.clock())
        async with session_factory() as db:
            kindergartens = await add_dataset(
                db, seed.agency, "ALA-1", "Детские сады", last_updated=today - timedelta(days=40)
            )
            schools = await add_dataset(
                db,
                seed.agency,
                "ALA-2",
                "Школы",
                frequency=UpdateFrequency.YEARLY,
                last_updated=today - timedelta(days=30),
            )
            await add_dataset(
                db, seed.agency, "ALA-3", "Парковки", state=DatasetState.PLANNED, last_updated=None
            )
            housing = await add_dataset(db, running.world.astana, "AST-1", "Жильё в Астане")
            people = [await add_respondent(db, f"p{i}") for i in range(120)]
            day = today - timedelta(days=3)
            # kindergartens: 120 ratings, 90 satisfied (4-5), 108 could re-check the data
            for i, person in enumerate(people):
                db.add(rating(kindergartens, day, 5 if i < 90 else 2, i < 108, person))
            # schools: 110 ratings, 44 could re-check; housing (Astana): 100, all could
            for i, person in enumerate(people[:110]):
                db.add(rating(schools, day, 4, i < 44, person))
            for person in people[:100]:
                db.add(rating(housing, day, 3, True, person))
            # an old rating outside the last 30 days and a small sample elsewhere
            db.add(rating(schools, today - timedelta(days=200), 1, False, people[0]))
            received = datetime.combine(day, datetime.min.time()).astimezone()
            problem_report(db, kindergartens, received, today + timedelta(days=5))
            problem_report(
                db,
                kindergartens,
                received,
                today + timedelta(days=5),
                answered=received + timedelta(hours=2),
            )
            await db.commit()  # fmt: skip
        yield running


def _row(html: str, title: str) -> str:
    start = html.index(f">{title}<")
    return html[start : html.index("</tr>", start)]


async def test_an_agencys_table_shows_ratings_problems_and_lateness(site: AdminSite) -> None:
    almaty = await site.signed_in(AGENCY_EMAIL)
    agency = await almaty.open("/admin/agencies/ALA")
    assert "/admin/agencies/ALA/datasets" in agency.html  # linked from the agency page
    page = await almaty.open("/admin/agencies/ALA/datasets?days=30")
    assert page.status == 200 and page.heading == "Наборы открытых данных"
    kindergartens = _row(page.html, "Детские сады")
    # 120 ratings, 75,0 % satisfied, 90,0 % could re-check, 1 open problem, 9 days late
    # (monthly: 31 days allowed, updated 40 days ago)
    for text in ("120", "75,0\u00a0%", "90,0\u00a0%", "Ежемесячно", "Опубликован"):
        assert text in kindergartens, text
    assert '<td class="int" data-label="Открытые проблемы">1</td>' in kindergartens
    assert '<td class="int" data-label="Просрочка (дней)">9</td>' in kindergartens
    assert 'href="https://data.egov.kz/ALA-1">Детские сады</a>' in page.html
    schools = _row(page.html, "Школы")
    assert "110" in schools and "40,0\u00a0%" in schools  # 44 of 110; the old one is outside
    assert '<td class="int" data-label="Просрочка (дней)">—</td>' in schools  # yearly: on time
    parking = _row(page.html, "Парковки")
    assert "Запланирован" in parking and "Мало данных" not in parking
    assert "Жильё в Астане" not in page.html
    # sorted by the verifiable share, lowest first
    by_share = await almaty.open("/admin/agencies/ALA/datasets?days=30&sort=verifiable&order=asc")
    assert by_share.html.index("Школы") < by_share.html.index("Детские сады")


async def test_the_table_exports_as_csv_with_a_bom_and_as_xlsx(site: AdminSite) -> None:
    analyst = await site.signed_in(EMAILS["analyst"])
    base = "/admin/agencies/ALA/datasets?days=30&export=datasets"
    status, headers, body = await analyst.download(f"{base}&format=csv")
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    assert body.startswith("\ufeff".encode())
    text = body.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("Набор данных,Состояние,Периодичность обновления")
    assert "Детские сады,Опубликован,Ежемесячно,120,0.75," in text
    status, _headers, body = await analyst.download(f"{base}&format=xlsx")
    assert status == 200
    sheet = load_workbook(io.BytesIO(body)).worksheets[0]
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert rows[0][0] == "Набор данных"
    found = next(row for row in rows if row[0] == "Детские сады")
    assert found[3:5] == [120, 0.75]


async def test_an_agency_user_sees_only_its_own_data_sets(site: AdminSite) -> None:
    almaty = await site.signed_in(AGENCY_EMAIL)
    other = await almaty.open("/admin/agencies/AST/datasets")
    assert other.status == 404 and "Жильё в Астане" not in other.html
    status, _h, body = await almaty.download(
        "/admin/agencies/AST/datasets?export=datasets&format=csv"
    )
    assert status == 404 and "Жильё".encode() not in body
    national = await almaty.open("/admin/datasets?days=30")
    assert national.status == 200
    assert "Детские сады" in national.html and "Жильё в Астане" not in national.html


async def test_a_published_set_has_a_qr_card_with_its_telegram_and_web_links(
    site: AdminSite,
) -> None:
    almaty = await site.signed_in(AGENCY_EMAIL)
    page = await almaty.open("/admin/agencies/ALA/datasets?days=30")
    card = "/admin/agencies/ALA/datasets/ALA-1/poster?format=pdf"
    assert f'href="{card}">Скачать PDF</a>' in _row(page.html, "Детские сады")
    assert "/datasets/ALA-3/poster" not in page.html  # a planned set: nothing to rate yet
    status, headers, body = await almaty.download(
        "/admin/agencies/ALA/datasets/ALA-1/poster?format=svg"
    )
    assert status == 200 and headers["Content-Type"] == "image/svg+xml"
    assert 'filename="dataset-ALA-1.svg"' in headers["Content-Disposition"]
    svg = body.decode()
    assert "https://t.me/QanagatBot?start=ds-ALA-1" in svg and "/d/ALA-1</text>" in svg
    assert "Оцените набор данных" in svg
    for forbidden in (
        "/admin/agencies/ALA/datasets/ALA-3/poster",  # planned
        "/admin/agencies/AST/datasets/AST-1/poster",  # another agency's
        "/admin/agencies/ALA/datasets/AST-1/poster",  # another agency's, under this one
        "/admin/agencies/ALA/datasets/ALA-1/poster?format=gif",
    ):
        status, _h, _b = await almaty.download(forbidden)
        assert status == 404, forbidden
    audit = [e for e in await site.audit() if e.action == "poster"]
    assert [e.details for e in audit] == [{"dataset": "ALA-1", "format": "svg"}]


async def test_the_national_page_lists_the_most_and_least_trusted_sets(site: AdminSite) -> None:
    analyst = await site.signed_in(EMAILS["analyst"])
    page = await analyst.open("/admin/datasets?days=30")
    assert page.status == 200 and page.heading == "Самые и наименее надёжные наборы данных"
    most = page.html[page.html.index("Самые надёжные") : page.html.index("Наименее надёжные")]
    least = page.html[page.html.index("Наименее надёжные") :]
    # housing 100 %, kindergartens 90 %, schools 40 %; parking has no ratings, so no list
    assert most.index("Жильё в Астане") < most.index("Детские сады") < most.index("Школы")
    assert "Парковки" not in page.html
    assert "Оценённых наборов: 3, в реестре: 4." in page.html
    # three sets with enough ratings: all in the first list, none left for the second
    assert "Нет данных" in least or "данных нет" in least
    status, _h, body = await analyst.download("/admin/datasets?days=30&export=trusted&format=csv")
    assert status == 200 and body.decode("utf-8-sig").splitlines()[1].startswith("AST,")


def test_the_minimum_sample_hides_a_share_of_few_ratings() -> None:
    from admin.datasets import DatasetLine, most_and_least_trusted
    from admin.figures import shares

    few, enough = shares([9, 60], [10, 100])
    assert few.share is None and few.insufficient and enough.share == pytest.approx(0.6)
    lines = [
        DatasetLine("A", "A", f"A-{i}", f"set {i}", "https://x.kz", DatasetState.PUBLISHED,
                    UpdateFrequency.DAILY, n, share, share, 0, date(2025, 1, 1), None)
        for i, (n, share) in enumerate([(10, few), (100, enough)])
    ]  # fmt: skip
    most, least = most_and_least_trusted(lines)
    assert [line.title for line in most] == ["set 1"] and least == []
