"""What the pages show, from rollups: the national share with its interval, agencies filtered
and sorted, an agency's defects, services and offices; every table exported as CSV (UTF-8 with
a BOM) and XLSX with the page's own figures, and each export in the audit log."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator

import pytest
from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from admin import figures
from admin.audit import Action, record
from tests.admin_fixtures import ADMIN_EMAIL, AGENCY_EMAIL, ANALYST_EMAIL, AdminSite, running_admin
from tests.conftest import Seed


@pytest.fixture
async def site(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed
) -> AsyncIterator[AdminSite]:
    async with running_admin(session_factory, seed) as running:
        yield running


def rows_of(body: bytes) -> list[list[str]]:
    assert body.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_shares_are_withheld_below_the_minimum_sample() -> None:
    [small, enough, none] = figures.shares([9, 80, 0], [10, 100, 0], min_sample=100)
    assert small.share is None and small.insufficient and small.n == 10
    assert enough.share == 0.8 and enough.interval is not None
    low, high = enough.interval
    assert 0.70 < low < 0.8 < high < 0.87
    assert none.share is None and not none.insufficient


async def test_the_overview_counts_what_the_rollups_hold(site: AdminSite) -> None:
    analyst = await site.signed_in(ANALYST_EMAIL)
    page = await analyst.open("/admin/")
    assert page.heading == "Общий обзор"
    assert "280" in page.html and "61,4\u00a0%" in page.html  # (120 + 52) / 280
    status, headers, body = await analyst.download("/admin/?export=responses_by_channel&format=csv")
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    assert "attachment" in headers["Content-Disposition"]
    table = rows_of(body)
    assert table[0] == ["Канал", "Ответы", "Доля от всех"]
    assert [row[:2] for row in table[1:]] == [["Telegram", "186"], ["Веб-страница", "94"]]


async def test_agencies_filter_by_kind_and_region_and_sort(site: AdminSite) -> None:
    analyst = await site.signed_in(ANALYST_EMAIL)
    _s, _h, body = await analyst.download("/admin/agencies?export=agencies&format=csv")
    every = rows_of(body)
    assert [row[0] for row in every[1:]] == ["ALA", "AST", "MJ"]  # by share, unrated last
    _s, _h, body = await analyst.download("/admin/agencies?kind=central&export=agencies&format=csv")
    assert [row[0] for row in rows_of(body)[1:]] == ["MJ"]
    _s, _h, body = await analyst.download("/admin/agencies?region=AST&export=agencies&format=csv")
    assert [row[0] for row in rows_of(body)[1:]] == ["AST"]
    _s, _h, body = await analyst.download(
        "/admin/agencies?sort=share&order=asc&export=agencies&format=csv"
    )
    assert [row[0] for row in rows_of(body)[1:]] == ["AST", "ALA", "MJ"]
    _s, _h, body = await analyst.download(
        "/admin/agencies?sort=name&order=asc&export=agencies&format=csv"
    )
    assert [row[1] for row in rows_of(body)[1:]] == [
        "Акимат города Алматы",
        "Акимат города Астаны",
        "Министерство юстиции",
    ]
    # Made-up filter values are ignored rather than failing the page.
    assert (
        await analyst.open("/admin/agencies?kind=weird&region=nowhere&days=7&sort=x")
    ).status == 200


async def test_an_agency_page_shows_defects_services_and_offices(site: AdminSite) -> None:
    almaty = await site.signed_in(AGENCY_EMAIL)
    page = await almaty.open("/admin/agencies/ALA")
    assert page.heading == "Акимат города Алматы"
    assert "80,0\u00a0%" in page.html and "72,9–85,6\u00a0%" in page.html
    _s, _h, body = await almaty.download("/admin/agencies/ALA?export=defects&format=xlsx")
    sheet = load_workbook(io.BytesIO(body)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == (
        "Нарушение",
        "Частота",
        "Сообщили",
        "n",
        "95 % интервал: нижняя граница",
        "95 % интервал: верхняя граница",
    )
    assert rows[1][:4] == ("Срок нарушен", 0.1, 15, 150)
    assert rows[3][:4] == ("Требовали документы сверх стандарта", 0.1, 15, 150)
    assert sheet["B2"].number_format == "0.0%"
    _s, _h, body = await almaty.download("/admin/agencies/ALA?export=offices&format=csv")
    offices = rows_of(body)
    assert [row[1:4] for row in offices[1:]] == [
        ["ЦОН №1", "0.8036", "112"],
        ["Без офиса (eGov, проактивно)", "", "38"],
    ]
    _s, _h, body = await almaty.download(
        "/admin/agencies/ALA?service=ALA-S2&export=services&format=csv"
    )
    assert [row[1:4] for row in rows_of(body)[1:]] == [
        ["Предоставление земельного участка", "", "0"]
    ]


async def test_every_export_is_in_the_audit_log(site: AdminSite) -> None:
    analyst = await site.signed_in(ANALYST_EMAIL)
    await analyst.download("/admin/agencies/AST?days=30&export=services&format=xlsx")
    [event] = [e for e in await site.audit() if e.action == "export"]
    assert event.actor == ANALYST_EMAIL
    assert event.details["table"] == "services" and event.details["format"] == "xlsx"
    assert event.details["page"] == "/admin/agencies/AST" and event.details["query"] == {
        "days": "30"
    }
    unknown = await analyst.open("/admin/agencies/AST?export=nothing&format=csv")
    assert unknown.status == 404
    assert (await analyst.open("/admin/?export=responses_per_day&format=pdf")).status == 404


async def test_the_audit_log_pages_through_events_newest_first(site: AdminSite) -> None:
    async with site.session_factory() as db:
        for number in range(120):
            record(db, Action.EXPORT, at=site.clock(), actor=f"user{number}@example.kz")
        await db.commit()
    admin = await site.signed_in(ADMIN_EMAIL)
    first = await admin.open("/admin/audit")
    assert "Страница 1 из 3" in first.html
    assert "admin@example.kz" in first.html  # the sign-in just now is the newest
    last = await admin.open("/admin/audit?page=3")
    assert "user0@example.kz" in last.html and "user119@example.kz" not in last.html
    assert (await admin.open("/admin/audit?page=junk")).status == 200
    _s, _h, body = await admin.download("/admin/audit?export=audit&format=csv")
    assert len(rows_of(body)) == 1 + 120 + 1  # the header, the 120 and the sign-in


async def test_a_failing_page_apologises_in_the_users_language(
    site: AdminSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    analyst = await site.signed_in(ANALYST_EMAIL)

    async def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(figures, "responses_per_day", broken)
    page = await analyst.open("/admin/")
    assert page.status == 503 and page.lang == "ru"
    assert "Traceback" not in page.html and "RuntimeError" not in page.html
    assert page.error == "Что-то пошло не так. Попробуйте ещё раз через несколько минут."


async def test_an_agency_user_without_an_agency_sees_nothing(site: AdminSite) -> None:
    from dataclasses import dataclass

    from core.models import AdminRole

    @dataclass
    class Broken:
        role: AdminRole = AdminRole.AGENCY
        agency_id: int | None = None

    async with site.session_factory() as db:
        assert await figures.visible_agency(db, Broken(), "ALA") is None
        assert await figures.agency_summaries(db, Broken(), None) == []
        assert await figures.responses_per_day(db, Broken(), None) == []
