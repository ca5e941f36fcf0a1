"""The agency answers, the citizen hears of it: the whole app (bot, admin) against the fake Bot
API. A citizen files a complaint in Telegram; the agency user takes it into review and answers
in the admin; the worker's job tells the citizen through the bot, who rates the answer once.
The agency sees the scrubbed text and never who the citizen is."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import aiohttp
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from admin import accounts
from core.identity import respondent_key
from core.models import (
    Agency,
    AgencyKind,
    ChatAddress,
    Complaint,
    ComplaintNotice,
    ComplaintStatus,
    PublicService,
    Respondent,
)
from qanagat.complaint_jobs import run_complaint_jobs
from tests.admin_fixtures import PASSWORD, Person
from tests.conftest import Seed
from tests.fake_telegram import FakeTelegram
from tests.test_complaints_telegram import low_rating
from tests.test_telegram_bot import SECRET, bot_settings, free_port, running_app

CHAT_ID = 880_123_456
AGENCY = "complaints@ala.kz"
OTHER = "complaints@ast.kz"


async def add_users(session_factory: async_sessionmaker[AsyncSession], seed: Seed) -> None:
    async with session_factory() as db:
        other = Agency(
            code="AST",
            kind=AgencyKind.LOCAL,
            region="AST",
            name_kk="Астана әкімдігі",
            name_ru="Акимат Астаны",
            name_en="Akimat of Astana",
        )
        db.add(other)
        await db.flush()
        db.add(
            PublicService(
                code="AST-S1",
                agency_id=other.id,
                name_kk="Тұрғын үй",
                name_ru="Жильё",
                name_en="Housing",
            )
        )
        for email, role, agency in (
            (AGENCY, "agency", seed.agency.code),
            (OTHER, "agency", "AST"),
            ("analyst@example.kz", "analyst", None),
        ):
            await accounts.add_user(
                db, accounts.NewUser(email, accounts.AdminRole(role), agency, "ru"), PASSWORD, 12
            )
        await db.commit()


async def signed_in(base_url: str, email: str) -> Person:
    person = Person(
        aiohttp.ClientSession(base_url=base_url, cookie_jar=aiohttp.CookieJar(unsafe=True))
    )
    page = await person.sign_in(email)
    assert page.status == 200, (page.status, page.error)
    return person


async def test_the_agency_answers_in_the_admin_and_the_citizen_rates_it_in_the_bot(
    database_url: str,
    redis_url: str | None,
    seed: Seed,
    make_invitation: Callable[..., Awaitable[str]],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await add_users(session_factory, seed)
    token = await make_invitation()
    async with FakeTelegram() as fake:
        port = free_port()
        settings = bot_settings(fake, "polling", port, database_url, redis_url)
        citizen = fake.user(CHAT_ID, language_code="ru")
        async with running_app(settings, fake):
            await low_rating(citizen, token)
            await citizen.press("Подать жалобу")
            await citizen.wait_for_message(containing="На что вы жалуетесь")
            await citizen.press("Требовали лишние документы")
            await citizen.wait_for_message(containing="Опишите")
            await citizen.send("Требовали справку. Мой ИИН 900101300017, почта aigul@mail.kz")
            await citizen.wait_for_message(containing="Согласны")
            await citizen.press("Да")
            filed = await citizen.wait_for_message(containing="Жалоба принята")
            match = re.search(r"Q-[A-Z2-7]{8}", filed.plain_text or "")
            assert match is not None
            reference = match.group(0)

            base = f"http://127.0.0.1:{port}"
            staff = await signed_in(base, AGENCY)
            listing = await staff.open("/admin/complaints")
            assert listing.status == 200 and reference in listing.html
            page = await staff.open(f"/admin/complaints/{reference}")
            assert page.status == 200
            assert "Требовали справку" in page.html
            assert "900101300017" not in page.html and "aigul@mail.kz" not in page.html
            # the citizen's survey answers and their consent to an answer are on the page
            assert "Ответы гражданина в опросе об этой услуге" in page.html
            assert "Согласие на ответ" in page.html

            # another agency's user, a forged reference, an analyst's answer: refused
            other = await signed_in(base, OTHER)
            assert (await other.open(f"/admin/complaints/{reference}")).status == 404
            assert reference not in (await other.open("/admin/complaints")).html
            await other.open("/admin/complaints")
            refused = await other.send(
                f"/admin/complaints/{reference}", ("action", "close"), follow=False
            )
            assert refused.status == 404
            assert (await staff.open("/admin/complaints/Q-AAAAAAAA")).status == 404
            assert (await staff.open("/admin/complaints/%27%3B--")).status == 404
            analyst = await signed_in(base, "analyst@example.kz")
            assert reference in (await analyst.open("/admin/complaints?agency=ALA")).html
            assert reference not in (await analyst.open("/admin/complaints?agency=AST")).html
            await analyst.open(f"/admin/complaints/{reference}")
            forbidden = await analyst.send(
                f"/admin/complaints/{reference}", ("action", "close"), follow=False
            )
            assert forbidden.status == 403

            # the agency takes it into review, then answers (an empty answer is refused)
            await staff.open(f"/admin/complaints/{reference}")
            moved = await staff.send(f"/admin/complaints/{reference}", ("action", "in_review"))
            assert moved.status == 200 and "Сохранено" in moved.html
            empty = await staff.send(
                f"/admin/complaints/{reference}", ("action", "answer"), ("answer", "  ")
            )
            assert empty.status == 400 and "пустой" in (empty.error or empty.html)
            await staff.open(f"/admin/complaints/{reference}")
            answered = await staff.send(
                f"/admin/complaints/{reference}",
                ("action", "answer"),
                ("answer", "Справка не требуется; сотруднику сделано замечание."),
            )
            assert answered.status == 200
            # the agency is told where its answer goes: this citizen's Telegram chat
            assert "Гражданин получит сообщение в чат Telegram" in answered.html
            assert "Чат Telegram гражданина" in answered.html

            await run_complaint_jobs(settings, session_factory)
            await citizen.wait_for_message(containing="на рассмотрении")
            told = await citizen.wait_for_message(containing="Ответ госоргана")
            assert reference in (told.plain_text or "")
            assert "сделано замечание" in (told.plain_text or "")
            await citizen.press("★★★★")
            await citizen.wait_for_message(containing="Спасибо! Ваша оценка")
            async with session_factory() as session:
                complaint_id = await session.scalar(select(Complaint.id))
            await citizen.press_data(f"cr:{complaint_id}:2")  # an old keyboard pressed again
            assert "уже оценён" in (await citizen.wait_callback_answer()).get("text", "")

            # closing, then answering the closed complaint: a clear refusal, nothing changed
            await staff.open(f"/admin/complaints/{reference}")
            await staff.send(f"/admin/complaints/{reference}", ("action", "close"))
            again = await staff.send(
                f"/admin/complaints/{reference}", ("action", "answer"), ("answer", "ещё")
            )
            assert again.status == 409
            await run_complaint_jobs(settings, session_factory)
            await citizen.wait_for_message(containing="закрыта")

            # the agency's pages never carry who the citizen is
            async with session_factory() as session:
                respondent = (await session.scalars(select(Respondent))).one()
                complaint = (await session.scalars(select(Complaint))).one()
            secrets = {
                respondent.key,
                respondent_key(SECRET.encode(), "telegram", CHAT_ID),
                str(CHAT_ID),
            }
            for person in (staff, analyst):
                for path in (
                    "/admin/complaints",
                    "/admin/complaints?status=closed",
                    f"/admin/complaints/{reference}",
                ):
                    html = (await person.open(path)).html
                    assert not [s for s in secrets if s in html], path
            for person in (staff, other, analyst):
                await person.session.close()

    assert complaint.status is ComplaintStatus.CLOSED
    assert complaint.answer_rating == 4
    assert complaint.answer_text == "Справка не требуется; сотруднику сделано замечание."
    async with session_factory() as session:
        notices = list(await session.scalars(select(ComplaintNotice).order_by(ComplaintNotice.id)))
        assert [(n.status, n.sent_at is not None) for n in notices] == [
            (ComplaintStatus.IN_REVIEW, True),
            (ComplaintStatus.ANSWERED, True),
            (ComplaintStatus.CLOSED, True),
        ]
        assert await session.scalar(select(ChatAddress.id)) is not None
