""" "You said, we changed": an agency's user writes a note about what changed (in one or more
languages, for the agency or one of its offices); it is public only after an admin approves it;
a rejected note never shows; analysts cannot write, agency users cannot review; every step is
audited. An approved note shows on its agency's public page and on its office's."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from core.models import ChangeNote, NoteStatus
from results.pages import setup_results
from tests.admin_fixtures import ADMIN_EMAIL, AGENCY_EMAIL, ANALYST_EMAIL, AdminSite, running_admin
from tests.conftest import Seed

CHANGED = "Кезек күту уақыты екі есе қысқарды"  # kk: the waiting time was halved
CHANGED_RU = "Время ожидания в очереди сократилось вдвое"
REJECTED = "Бұл жазба ешқашан жарияланбайды"


@pytest.fixture
async def site(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed
) -> AsyncIterator[AdminSite]:
    async with running_admin(session_factory, seed) as running:
        yield running


async def public(session_factory: async_sessionmaker[AsyncSession], *paths: str) -> list[str]:
    app = web.Application()
    setup_results(app, session_factory, refresh_seconds=0)
    pages = []
    async with TestClient(TestServer(app)) as client:
        for path in paths:
            response = await client.get(path)
            assert response.status == 200, path
            pages.append(await response.text())
    return pages


async def notes(site: AdminSite) -> list[ChangeNote]:
    async with site.session_factory() as db:
        return list(
            await db.scalars(
                select(ChangeNote).options(selectinload(ChangeNote.agency)).order_by(ChangeNote.id)
            )
        )


async def test_a_note_is_public_only_after_an_admin_approves_it_audited(
    site: AdminSite, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    analyst = await site.signed_in(ANALYST_EMAIL)
    assert (await analyst.open("/admin/notes")).status == 403
    agency = await site.signed_in(AGENCY_EMAIL)
    form = await agency.open("/admin/notes")
    assert form.status == 200
    empty = await agency.send("/admin/notes", ("office", ""))
    assert empty.status == 400 and "хотя бы на одном языке" in empty.html
    other_office = await agency.send("/admin/notes", ("office", "AST-01"), ("text_kk", "x"))
    assert other_office.status == 400 and await notes(site) == []

    # the agency field is ignored for an agency user: the note is about its own agency
    await agency.open("/admin/notes")
    sent = await agency.send(
        "/admin/notes",
        ("agency", "AST"),
        ("office", "ALA-01"),
        ("text_kk", CHANGED),
        ("text_ru", CHANGED_RU),
    )
    assert sent.status == 200 and "Записка отправлена на проверку." in sent.html
    await agency.send("/admin/notes", ("text_kk", REJECTED))
    written, rejected = await notes(site)
    assert written.status is NoteStatus.PENDING and written.agency.code == "ALA"
    assert (written.text("kk"), written.text("ru"), written.text("en")) == (
        CHANGED,
        CHANGED_RU,
        None,
    )
    pages = await public(
        session_factory, "/results/agencies/ALA?lang=kk", "/results/offices/ALA-01?lang=kk"
    )
    assert all(CHANGED not in page for page in pages)  # pending: not public

    review = [("note", str(written.id)), ("decision", "approve")]
    assert (await agency.send("/admin/notes/review", *review)).status == 403
    admin = await site.signed_in(ADMIN_EMAIL)
    listed = await admin.open("/admin/notes")
    assert CHANGED in listed.html and "ждёт проверки" in listed.html
    approved = await admin.send("/admin/notes/review", *review)
    assert approved.status == 200 and "Записка одобрена и опубликована." in approved.html
    await admin.send("/admin/notes/review", ("note", str(rejected.id)), ("decision", "reject"))
    again = await admin.send("/admin/notes/review", *review)
    assert again.status == 404  # reviewed once

    agency_kk, office_kk, agency_ru, agency_en = await public(
        session_factory,
        "/results/agencies/ALA?lang=kk",
        "/results/offices/ALA-01?lang=kk",
        "/results/agencies/ALA?lang=ru",
        "/results/agencies/ALA?lang=en",
    )
    assert CHANGED in agency_kk and CHANGED in office_kk and CHANGED_RU in agency_ru
    assert CHANGED_RU not in agency_kk  # one language per reader
    assert CHANGED in agency_en  # no English text: the Kazakh one, marked as such
    assert all(REJECTED not in page for page in (agency_kk, office_kk, agency_ru, agency_en))

    actions = [(e.action, e.actor, e.details.get("note")) for e in await site.audit()]
    assert ("change_note_written", AGENCY_EMAIL, written.id) in actions
    assert ("change_note_approved", ADMIN_EMAIL, written.id) in actions
    assert ("change_note_rejected", ADMIN_EMAIL, rejected.id) in actions
