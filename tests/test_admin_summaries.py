"""The complaint summary in the admin: the page with every section in the reader's language,
the short "nothing this period" message, the workbook and text downloads (audited), agency
users kept to their own agency, and the complaint list's exports. The kk/ru corpus is filed
through the complaint desk; the clock is frozen at Monday 30 November 2026."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from admin.summaries import SummaryPeriod
from admin.web.pages.summaries import chosen_period
from core.complaints import new_reference
from core.models import (
    AdminUser,
    Complaint,
    ComplaintStatus,
    Dataset,
    DatasetProblem,
    DatasetState,
    PublicService,
    Respondent,
    ServicePoint,
    UpdateFrequency,
)
from tests.admin_fixtures import (
    ADMIN_EMAIL,
    AGENCY_EMAIL,
    ANALYST_EMAIL,
    OTHER_AGENCY_EMAIL,
    AdminSite,
    running_admin,
)
from tests.complaint_frames import personal_strings
from tests.conftest import Seed
from tests.summary_fixtures import NOW, WEEK, Corpus, file_complaint, file_corpus

SUMMARY = "/admin/summaries"


@pytest.fixture
async def site(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed
) -> AsyncIterator[AdminSite]:
    async with running_admin(session_factory, seed) as running:
        # the clock goes back to the summaries' Monday: passwords are older than that
        async with session_factory() as session:
            await session.execute(
                update(AdminUser).values(password_changed_at=NOW - timedelta(days=30))
            )
            await session.commit()
        running.clock.now = NOW
        yield running


async def _corpus(session_factory: async_sessionmaker[AsyncSession], seed: Seed) -> Corpus:
    async with session_factory() as session:
        second = ServicePoint(
            code="ALA-02",
            agency_id=seed.agency.id,
            region="ALA",
            name_kk="№2 ХҚКО",
            name_ru="ЦОН №2",
            name_en="Service centre No 2",
        )
        session.add(second)
        await session.commit()
        other = await session.scalar(select(PublicService).where(PublicService.code == "ALA-S2"))
        assert other is not None
    return await file_corpus(session_factory, (seed.service, other), seed.office, second)


@pytest.fixture
async def corpus(
    site: AdminSite, session_factory: async_sessionmaker[AsyncSession], seed: Seed
) -> Corpus:
    return await _corpus(session_factory, seed)


def _secrets_absent(text: str) -> None:
    for secret in personal_strings():
        assert secret not in text, secret
    assert not re.search(r"\b\d{12}\b", text)  # no IIN in any form


async def test_an_analyst_reads_an_agencys_week_with_every_section_in_russian(
    site: AdminSite, corpus: Corpus
) -> None:
    analyst = await site.signed_in(ANALYST_EMAIL)  # the analyst reads the admin in Russian
    page = await analyst.open(f"{SUMMARY}?agency=ALA")
    assert page.status == 200
    assert page.heading == "Сводка жалоб: Акимат города Алматы"
    assert page.contains("Неделя · 23–29 нояб. 2026 г.")
    html = page.html
    # volume and change: 76 against the 8 of the week before
    assert ">76<" in html and "в предыдущем периоде 8" in html
    assert "+68 (+850,0\u00a0%)" in html
    # by category, translated; by service and office, by name
    assert "Долгое ожидание" in html and "Лишние документы" in html
    assert "Постановка в очередь в детский сад" in html and "ЦОН №2" in html
    # the first office has 46 of 76 against a usual 8.5 of 33: flagged, with its test
    over = html[html.index('id="h-over"') : html.index('id="h-themes"')]
    assert "ЦОН №1" in over and "Отделение" in over and "p-значение" in over
    assert "ЦОН №2" not in over
    # themes with quotes, scrubbed
    themes = html[html.index('id="h-themes"') : html.index('id="h-by-category"')]
    assert themes.count('<blockquote class="quote">') >= 4
    assert "очеред" in themes and "кезек" in themes
    _secrets_absent(html)
    # deadlines and the rating: nothing answered yet
    assert "Нарушены сроки" in html and "Оценок ответов пока нет" in html
    # the picker offers the weeks, newest first, and the downloads
    assert any(link.text == "Отчёт (XLSX)" for link in page.links)


async def test_the_summary_downloads_as_a_workbook_and_as_text_each_audited(
    site: AdminSite, corpus: Corpus
) -> None:
    almaty = await site.signed_in(AGENCY_EMAIL)
    status, headers, body = await almaty.download(f"{SUMMARY}?download=xlsx")
    assert status == 200
    assert headers["Content-Type"].startswith("application/vnd.openxmlformats")
    assert 'filename="qanagat-summary-ALA-weekly-2026-11-23.xlsx"' in headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(body))
    assert book.sheetnames == [
        "Основные показатели",
        "По категориям",
        "По услугам",
        "По отделениям",
        "Основные темы",
        "Жалоб больше обычного",
        "Проблемы открытых данных",
        "По видам проблем",
        "По наборам данных",
    ]
    figures = {row[0]: row[1] for row in book["Основные показатели"].iter_rows(values_only=True)}
    assert figures["Жалоб"] == 76 and figures["В предыдущем периоде"] == 8
    assert figures["Первый день"] == "2026-11-23" and figures["Последний день"] == "2026-11-29"
    categories = list(book["По категориям"].iter_rows(min_row=2, values_only=True))
    assert ("Долгое ожидание", 16, pytest.approx(16 / 76)) in categories
    assert sum(row[1] for row in categories) == 76
    offices = {
        row[0]: row[1] for row in book["По отделениям"].iter_rows(min_row=2, values_only=True)
    }
    assert offices == {"ЦОН №1": 46, "ЦОН №2": 30}
    [flagged] = list(book["Жалоб больше обычного"].iter_rows(min_row=2, values_only=True))
    assert flagged[:3] == ("Отделение", "ЦОН №1", 46)
    assert flagged[6] < 0.05 and flagged[7] < 0.05  # p and q
    quotes = [
        cell
        for row in book["Основные темы"].iter_rows(min_row=2, values_only=True)
        for cell in row[4:]
        if cell
    ]
    assert len(quotes) >= 4
    _secrets_absent(" ".join(quotes))

    status, headers, body = await almaty.download(f"{SUMMARY}?kind=weekly&download=txt")
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    text = body.decode("utf-8")
    assert text.startswith("Сводка жалоб: Акимат города Алматы, 2026-11-23 – 2026-11-29")
    assert "Жалоб: 76 (в предыдущем периоде 8, +68, +850%)" in text
    assert "сокращено" not in text  # the download is the whole summary
    _secrets_absent(text)

    exports = [e for e in await site.audit() if e.action == "export"]
    assert [(e.actor, e.details["format"], e.details["agency"]) for e in exports] == [
        (AGENCY_EMAIL, "xlsx", "ALA"),
        (AGENCY_EMAIL, "txt", "ALA"),
    ]
    assert exports[0].details["start"] == "2026-11-23" and exports[0].details["rows"] == 76


async def test_an_agency_user_reads_only_its_own_summary(
    site: AdminSite, session_factory: async_sessionmaker[AsyncSession], seed: Seed
) -> None:
    async with session_factory() as session:
        await file_complaint(
            session,
            seed.service,
            seed.office,
            "rudeness",
            datetime.combine(WEEK.start, time(6), tzinfo=UTC),
        )
    almaty = await site.signed_in(AGENCY_EMAIL)
    own = await almaty.open(SUMMARY)
    assert own.status == 200 and own.heading == "Сводка жалоб: Акимат города Алматы"
    assert '<select name="agency"' not in own.html  # no agency to pick
    for path in (
        f"{SUMMARY}?agency=AST",
        f"{SUMMARY}?agency=AST&download=xlsx",
        f"{SUMMARY}?agency=AST&download=txt",
        f"{SUMMARY}?agency=NOPE",
    ):
        status, _headers, body = await almaty.download(path)
        assert status == 404, path
        assert "Астан".encode() not in body
    astana = await site.signed_in(OTHER_AGENCY_EMAIL)
    status, _headers, body = await astana.download(f"{SUMMARY}?agency=ALA&download=txt")
    assert status == 404 and "Алматы".encode() not in body
    assert [e for e in await site.audit() if e.action == "export"] == []


async def test_an_agency_without_complaints_gets_a_short_message_and_the_picker(
    site: AdminSite,
) -> None:
    admin = await site.signed_in(ADMIN_EMAIL)
    choose = await admin.open(SUMMARY)
    assert choose.status == 200
    assert choose.contains("Выберите орган, вид периода и период, чтобы увидеть сводку.")
    assert "AST · Акимат города Астаны" in choose.html
    empty = await admin.open(f"{SUMMARY}?agency=AST&kind=monthly&start=2026-10-15")
    assert empty.status == 200
    assert empty.contains("Месяц · 1–31 окт. 2026 г.")
    assert empty.contains("За этот период жалоб не поступило. В предыдущем периоде: 0.")
    assert 'id="h-themes"' not in empty.html and 'class="kpis"' not in empty.html
    status, _headers, body = await admin.download(f"{SUMMARY}?agency=AST&download=txt")
    assert status == 200
    assert (
        body.decode().splitlines()[1]
        == "За этот период жалоб не поступило. В предыдущем периоде: 0."
    )


@given(
    kind=st.sampled_from(["weekly", "monthly"]),
    raw=st.one_of(
        st.none(),
        st.text(max_size=40),
        st.dates().map(date.isoformat),
        st.datetimes().map(datetime.isoformat),
    ),
    today=st.dates(min_value=date(2001, 1, 1), max_value=date(2099, 12, 31)),
)
def test_any_start_opens_a_period_that_has_begun(kind: str, raw: str | None, today: date) -> None:
    period = chosen_period(kind, raw, today)  # type: ignore[arg-type]
    current = SummaryPeriod.containing(kind, today)  # type: ignore[arg-type]
    try:
        asked: date | None = date.fromisoformat((raw or "")[:10])
    except ValueError:
        asked = None
    if asked is not None and date(2000, 1, 1) <= asked < current.end:
        assert period == SummaryPeriod.containing(kind, asked)  # type: ignore[arg-type]
    else:  # no date, or a future one: the last closed period
        assert period == current.previous()
    assert period.kind == kind and period.start <= today


@pytest.mark.parametrize(
    "query",
    [
        "kind=yearly",
        "start=yesterday",
        "start=2999-01-01",
        "start=1899-12-31",
        "start=2026-02-30",
        "start=%00%FF",
        "kind=monthly&start=2026-11-31T99",
        "agency=" + "A" * 500,
        "agency=ALA&download=pdf",
        "agency=%27%20OR%201%3D1",
    ],
)
async def test_odd_queries_give_a_page_or_a_404_never_an_error(site: AdminSite, query: str) -> None:
    analyst = await site.signed_in(ANALYST_EMAIL)
    page = await analyst.open(f"{SUMMARY}?{query}")
    assert page.status in (200, 404), (query, page.status)
    if page.status == 200:
        assert page.heading.startswith("Сводка жалоб")


async def test_the_complaint_list_exports_with_its_filters_and_the_readers_scope(
    site: AdminSite, session_factory: async_sessionmaker[AsyncSession], seed: Seed
) -> None:
    at = datetime.combine(WEEK.start, time(6), tzinfo=UTC)
    async with session_factory() as session:
        astana_service = await session.get(PublicService, site.world.astana_service.id)
        assert astana_service is not None
        await file_complaint(session, seed.service, seed.office, "rudeness", at, "Грубо ответили")
        await file_complaint(
            session,
            seed.service,
            None,
            "extra_documents",
            at,
            '=HYPERLINK("x") мой ИИН 850115300120',
            "ru",
        )
        await file_complaint(session, astana_service, None, "other", at, "Астана жалоба")
        keys = set(await session.scalars(select(Respondent.key)))
    almaty = await site.signed_in(AGENCY_EMAIL)
    page = await almaty.open("/admin/complaints")
    assert any(link.text == "Сводка жалоб" for link in page.links)
    status, _headers, body = await almaty.download("/admin/complaints?export=complaints&format=csv")
    assert status == 200 and body.startswith(b"\xef\xbb\xbf")
    listed = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert sorted(row["Категория"] for row in listed) == ["Грубость", "Лишние документы"]
    assert {row["Орган"] for row in listed} == {"ALA"}
    flat = body.decode("utf-8-sig")
    assert "850115300120" not in flat and "Астана жалоба" not in flat
    assert "'=HYPERLINK" in flat  # a text is never a formula
    for key in keys:
        assert key not in flat
    # another agency in the filter: nothing of theirs
    _s, _h, body = await almaty.download(
        "/admin/complaints?agency=AST&export=complaints&format=csv"
    )
    assert "Астана жалоба" not in body.decode("utf-8-sig")

    analyst = await site.signed_in(ANALYST_EMAIL)
    status, _headers, body = await analyst.download(
        "/admin/complaints?category=rudeness&export=complaints&format=xlsx"
    )
    assert status == 200
    sheet = load_workbook(io.BytesIO(body)).active
    assert sheet is not None
    data = list(sheet.iter_rows(min_row=2, values_only=True))
    assert len(data) == 1 and data[0][1] == "ALA" and data[0][4] == "Грубость"
    _s, _h, body = await analyst.download("/admin/complaints?export=complaints&format=csv")
    assert len(list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))) == 3
    _s, _h, body = await analyst.download("/admin/complaints?export=complaints&format=xlsx")
    sheet = load_workbook(io.BytesIO(body)).active
    assert sheet is not None
    [formula_like] = [
        row[12] for row in sheet.iter_rows(min_row=2) if "HYPERLINK" in str(row[12].value)
    ]
    assert formula_like.data_type == "s"  # a text, not a formula
    exports = [e for e in await site.audit() if e.action == "export"]
    assert [(e.actor, e.details["table"], e.details["rows"]) for e in exports] == [
        (AGENCY_EMAIL, "complaints", 2),
        (AGENCY_EMAIL, "complaints", 0),
        (ANALYST_EMAIL, "complaints", 1),
        (ANALYST_EMAIL, "complaints", 3),
        (ANALYST_EMAIL, "complaints", 3),
    ]
    assert exports[2].details["query"] == {"category": "rudeness"}


async def _problem_reports(session_factory: async_sessionmaker[AsyncSession], seed: Seed) -> None:
    """Two problem reports about the akimat's bus-routes set in WEEK: one open past its deadline
    (Friday 27 November), one answered on its deadline day (on time)."""
    monday = datetime.combine(WEEK.start, time(9), tzinfo=UTC)
    async with session_factory() as session:
        buses = Dataset(
            agency_id=seed.agency.id,
            external_id="ala_bus_routes",
            title_kk="Автобус бағыттары",
            title_ru="Автобусные маршруты Алматы",
            url="https://data.egov.kz/datasets/view?index=ala_bus_routes",
            update_frequency=UpdateFrequency.MONTHLY,
            state=DatasetState.PUBLISHED,
            created_at=monday,
            updated_at=monday,
        )
        session.add(buses)
        await session.flush()
        for problem, status, answered in (
            (DatasetProblem.OUTDATED, ComplaintStatus.RECEIVED, None),
            (DatasetProblem.BROKEN_LINK, ComplaintStatus.ANSWERED, monday + timedelta(days=4)),
        ):
            session.add(
                Complaint(
                    reference=new_reference(),
                    agency_id=seed.agency.id,
                    dataset_id=buses.id,
                    problem=problem,
                    text="Данные не обновлялись",
                    language="ru",
                    status=status,
                    deadline=WEEK.start + timedelta(days=4),
                    created_at=monday,
                    updated_at=monday,
                    received_at=monday,
                    answered_at=answered,
                )
            )
        await session.commit()


async def test_problem_reports_about_open_data_have_their_own_section_and_sheets(
    site: AdminSite, session_factory: async_sessionmaker[AsyncSession], seed: Seed
) -> None:
    await _problem_reports(session_factory, seed)
    almaty = await site.signed_in(AGENCY_EMAIL)
    page = await almaty.open(f"{SUMMARY}?kind=weekly")
    assert page.status == 200
    # no service complaints this week: the short line, and still the data sets' reports
    assert page.contains("За этот период жалоб не поступило")
    html = page.html
    problems = html[html.index('id="h-problems"') :]
    assert "Всего: 2; открыты: 1, из них после срока: 1; ответ с опозданием: 0." in problems
    assert "Набор данных: устарел" in problems and "Автобусные маршруты Алматы" in problems

    status, _, body = await almaty.download(f"{SUMMARY}?kind=weekly&download=xlsx")
    assert status == 200
    book = load_workbook(io.BytesIO(body))
    figures = dict(book["Проблемы открытых данных"].iter_rows(min_row=2, values_only=True))
    assert figures == {
        "Сообщений": 2,
        "Открыты": 1,
        "Открыты после срока": 1,
        "Ответ с опозданием": 0,
    }
    assert list(book["По наборам данных"].iter_rows(min_row=2, values_only=True)) == [
        ("Автобусные маршруты Алматы", 2, 1.0)
    ]

    _, _, text = await almaty.download(f"{SUMMARY}?kind=weekly&download=txt")
    assert "Сообщения о проблемах с открытыми данными: 2" in text.decode("utf-8")


@given(
    st.sampled_from(["weekly", "monthly"]),
    st.dates(min_value=date(2017, 1, 1), max_value=date(2026, 12, 7)),  # within the cap
)
def test_the_period_picker_reaches_back_to_the_first_complaint(kind: str, first: date) -> None:
    from admin.summaries import SummaryPeriod
    from admin.web.pages.summaries import OFFERED, periods_back

    current = SummaryPeriod.containing(kind, date(2026, 12, 7))  # type: ignore[arg-type]
    count = periods_back(kind, current, first)  # type: ignore[arg-type]
    offered = current.earlier(count)
    assert count >= OFFERED[kind]
    if first < current.start:
        assert offered[0].start <= first  # the first complaint's period is on offer
