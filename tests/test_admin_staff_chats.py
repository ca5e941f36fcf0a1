"""Staff chats in the admin: an admin or the agency's own user makes a one-time code (shown once,
audited) that subscribes a chat; the list shows the agency's chats only, and unsubscribing one
is a CSRF-checked, audited form; another agency's chat looks unknown."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import staff_chats
from core.identity import AddressBox
from core.models import StaffChat, StaffChatCode
from tests.admin_fixtures import (
    AGENCY_EMAIL,
    EMAILS,
    OTHER_AGENCY_EMAIL,
    SECRET,
    AdminSite,
    running_admin,
)
from tests.conftest import Seed

CODE = re.compile(r"/subscribe ([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})")


@pytest.fixture
async def site(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed
) -> AsyncIterator[AdminSite]:
    async with running_admin(session_factory, seed) as running:
        yield running


async def subscribe(site: AdminSite, code: str, chat_id: int) -> StaffChat:
    async with site.session_factory() as session:
        outcome = await staff_chats.subscribe(
            session,
            SECRET.encode(),
            AddressBox(SECRET.encode()),
            code=code,
            chat_id=chat_id,
            title="Отдел жалоб",
            now=site.clock(),
        )
        await session.commit()
    assert isinstance(outcome, staff_chats.Subscribed), outcome
    return outcome.chat


async def test_an_admin_makes_a_code_shown_once_that_subscribes_a_chat(site: AdminSite) -> None:
    admin = await site.signed_in(EMAILS["admin"])
    page = await admin.open("/admin/staff-chats")
    assert page.status == 200 and page.heading == "Чаты сотрудников"
    made = await admin.send(
        "/admin/staff-chats/code", ("agency", "ALA"), ("weekly", "1"), ("monthly", "1")
    )
    assert made.status == 200
    match = CODE.search(made.html)
    assert match is not None
    code = match.group(1)
    # not shown again
    assert code not in (await admin.open("/admin/staff-chats")).html
    async with site.session_factory() as session:
        stored = (await session.scalars(select(StaffChatCode))).one()
    assert stored.language == "kk" and stored.weekly and stored.monthly  # the agency's language
    assert stored.expires_at - stored.created_at == timedelta(hours=24)
    assert code.encode() not in stored.code_hash
    [event] = [e for e in await site.audit() if e.action == "staff_chat_code"]
    assert event.actor == EMAILS["admin"] and event.details["agency"] == "ALA"

    chat = await subscribe(site, code, -100555)
    listed = await admin.open("/admin/staff-chats")
    assert "Отдел жалоб" in listed.html and "Еженедельно, Ежемесячно" in listed.html
    assert str(-100555) not in listed.html  # the chat id is not shown
    assert chat.monthly


async def test_an_agency_user_sees_and_unsubscribes_only_its_own_chats(site: AdminSite) -> None:
    almaty = await site.signed_in(AGENCY_EMAIL)
    await almaty.open("/admin/staff-chats")
    made = await almaty.send(
        "/admin/staff-chats/code", ("agency", "AST"), ("language", "ru"), ("weekly", "1")
    )
    match = CODE.search(made.html)
    assert match is not None
    chat = await subscribe(site, match.group(1), -100777)
    assert chat.agency_id == site.world.almaty.id  # its own agency, whatever the form said

    astana = await site.signed_in(OTHER_AGENCY_EMAIL)
    theirs = await astana.open("/admin/staff-chats")
    assert "Отдел жалоб" not in theirs.html
    refused = await astana.send("/admin/staff-chats/unsubscribe", ("chat", str(chat.id)))
    assert refused.status == 404 and refused.error == "Такого чата нет."

    analyst = await site.signed_in(EMAILS["analyst"])
    assert (await analyst.open("/admin/staff-chats")).status == 403

    await almaty.open("/admin/staff-chats")
    done = await almaty.send("/admin/staff-chats/unsubscribe", ("chat", str(chat.id)))
    assert done.status == 200 and "Чат отписан." in done.html
    async with site.session_factory() as session:
        assert list(await session.scalars(select(StaffChat))) == []
    [event] = [e for e in await site.audit() if e.action == "staff_chat_removed"]
    assert event.actor == AGENCY_EMAIL and event.details["agency"] == "ALA"


async def test_a_code_form_without_a_period_or_token_is_refused(site: AdminSite) -> None:
    admin = await site.signed_in(EMAILS["admin"])
    await admin.open("/admin/staff-chats")
    refused = await admin.send("/admin/staff-chats/code", ("agency", "ALA"))
    assert (
        refused.status == 400 and refused.error == "Выберите хотя бы один период: неделя или месяц."
    )
    unknown = await admin.send("/admin/staff-chats/code", ("agency", "NOPE"), ("weekly", "1"))
    assert unknown.status == 400 and unknown.error == "Выберите орган."
    forged = await admin.post("/admin/staff-chats/code", [("agency", "ALA"), ("weekly", "1")])
    assert forged.status == 403
    async with site.session_factory() as session:
        assert list(await session.scalars(select(StaffChatCode))) == []
