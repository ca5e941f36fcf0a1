"""A problem report about an open data set, through its whole life: filed from the feedback
survey in Telegram, seen by the agency in /admin/complaints under the data set's title, taken
into review and answered there; each status change reaches the person through the bot, who
rates the answer. Another agency never sees it; the report's deadline follows the rules file."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.complaints import complaint_rules, problem_deadline, rules_from
from core.models import Complaint, ComplaintNotice, ComplaintStatus
from qanagat.complaint_jobs import run_complaint_jobs
from tests.conftest import Seed
from tests.dataset_flow_fixtures import add_registry, reports
from tests.fake_telegram import FakeTelegram
from tests.test_complaints_answering import AGENCY, OTHER, add_users, signed_in
from tests.test_datasets_telegram import find_schools_ru
from tests.test_telegram_bot import bot_settings, free_port, rate, running_app


def test_a_problem_report_is_due_in_the_working_days_of_the_rules_file() -> None:
    # Monday 14 December: 16 December, 1-2 and 7 January are off, so the 15th working day
    # after it is 8 January; the 5th is 22 December.
    received = datetime(2026, 12, 14, 10, 0, tzinfo=UTC)
    assert complaint_rules().problem_working_days() == 15
    assert problem_deadline(received) == date(2027, 1, 8)
    shorter = rules_from({"default_working_days": 15, "dataset_problem": 5})
    assert problem_deadline(received, shorter) == date(2026, 12, 22)
    assert rules_from({"default_working_days": 10}).problem_working_days() == 10


async def test_the_agency_answers_a_problem_report_and_the_person_hears_of_it(
    database_url: str,
    redis_url: str | None,
    seed: Seed,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await add_registry(session_factory, seed)
    await add_users(session_factory, seed)
    async with FakeTelegram() as fake:
        port = free_port()
        settings = bot_settings(fake, "polling", port, database_url, redis_url)
        user = fake.user(7401, language_code="ru")
        async with running_app(settings, fake):
            await find_schools_ru(user)
            await rate(
                user,
                [
                    ("Да", "полные"),
                    ("Да", "актуальны"),
                    ("Нет", "перепроверить"),
                    ("Да", "удовлетворены"),
                    ("★★★", "Есть ли проблема"),
                    ("Ссылка не работает", "Коротко опишите"),
                ],
            )
            await user.send("Ссылка на файл CSV ведёт на 404. Пишите мне на aigul@mail.kz")
            filed = await user.wait_for_message(containing="зарегистрировано")
            match = re.search(r"Q-[A-Z2-7]{8}", filed.plain_text or "")
            assert match is not None
            reference = match.group(0)

            base = f"http://127.0.0.1:{port}"
            staff = await signed_in(base, AGENCY)
            listing = await staff.open("/admin/complaints")
            assert listing.status == 200 and reference in listing.html
            assert "Открытые данные: Школы города Алматы" in listing.html
            assert "Набор данных: ссылка не работает" in listing.html
            # the export names the report's kind of problem as its category
            _s, _h, body = await staff.download("/admin/complaints?export=complaints&format=csv")
            assert "Набор данных: ссылка не работает" in body.decode("utf-8-sig")
            page = await staff.open(f"/admin/complaints/{reference}")
            assert page.status == 200 and "Школы города Алматы" in page.html
            assert "ведёт на 404" in page.html and "aigul@mail.kz" not in page.html
            other = await signed_in(base, OTHER)
            assert reference not in (await other.open("/admin/complaints")).html
            assert (await other.open(f"/admin/complaints/{reference}")).status == 404

            await staff.send(f"/admin/complaints/{reference}", ("action", "in_review"))
            await staff.open(f"/admin/complaints/{reference}")
            answered = await staff.send(
                f"/admin/complaints/{reference}",
                ("action", "answer"),
                ("answer", "Ссылка исправлена, файл снова доступен."),
            )
            assert answered.status == 200
            await run_complaint_jobs(settings, session_factory)
            await user.wait_for_message(containing="на рассмотрении")
            told = await user.wait_for_message(containing="Ответ госоргана")
            assert reference in (told.plain_text or "")
            assert "Ссылка исправлена" in (told.plain_text or "")
            await user.press("★★★★★")
            await user.wait_for_message(containing="Спасибо! Ваша оценка")
            for person in (staff, other):
                await person.session.close()

    [report] = await reports(session_factory)
    assert report.status is ComplaintStatus.ANSWERED and report.answer_rating == 5
    async with session_factory() as session:
        notices = list(await session.scalars(select(ComplaintNotice).order_by(ComplaintNotice.id)))
        assert [(n.status, n.sent_at is not None) for n in notices] == [
            (ComplaintStatus.IN_REVIEW, True),
            (ComplaintStatus.ANSWERED, True),
        ]
        assert await session.scalar(select(Complaint.service_id)) is None
