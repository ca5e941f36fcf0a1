"""`qanagat serve` alone (the embedded mode: no Redis, no `qanagat worker`) runs the worker's
jobs in the server: a complaint answered in the admin reaches the citizen's chat at once, and a
job that is not woken still runs on its interval."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from qanagat.jobs import JobRunner, PeriodicJob
from tests.conftest import SURVEYS, Seed
from tests.fake_telegram import FakeTelegram
from tests.test_complaints_answering import AGENCY, add_users, signed_in
from tests.test_complaints_telegram import low_rating
from tests.test_telegram_bot import bot_settings, free_port

pytestmark = pytest.mark.timeout(90)
CHAT_ID = 880_777_001


async def test_a_complaint_answered_in_the_admin_reaches_the_citizen_without_the_worker(
    database_url: str,
    seed: Seed,
    make_invitation: Callable[..., Awaitable[str]],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    from aiohttp import web

    from qanagat.app import build_app

    await add_users(session_factory, seed)
    token = await make_invitation()
    async with FakeTelegram() as fake:
        port = free_port()
        # no Redis: the embedded mode; the jobs' own interval is far longer than the test
        settings = bot_settings(fake, "polling", port, database_url, None).model_copy(
            update={"worker_interval_s": 3600}
        )
        runner = web.AppRunner(build_app(settings, surveys=SURVEYS, with_jobs=True))
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        try:
            citizen = fake.user(CHAT_ID, language_code="ru")
            await low_rating(citizen, token)
            await citizen.press("Подать жалобу")
            await citizen.wait_for_message(containing="На что вы жалуетесь")
            await citizen.press("Требовали лишние документы")
            await citizen.wait_for_message(containing="Опишите")
            await citizen.send("Требовали справку о составе семьи")
            await citizen.wait_for_message(containing="Согласны")
            await citizen.press("Да")
            filed = await citizen.wait_for_message(containing="Жалоба принята")
            match = re.search(r"Q-[A-Z2-7]{8}", filed.plain_text or "")
            assert match is not None
            reference = match.group(0)

            staff = await signed_in(f"http://127.0.0.1:{port}", AGENCY)
            try:
                await staff.open(f"/admin/complaints/{reference}")
                answered = await staff.send(
                    f"/admin/complaints/{reference}",
                    ("action", "answer"),
                    ("answer", "Справка не требуется; сотруднику сделано замечание."),
                )
                assert answered.status == 200
            finally:
                await staff.session.close()

            told = await citizen.wait_for_message(containing="Ответ госоргана", timeout=10)
            assert reference in (told.plain_text or "")
            assert "сделано замечание" in (told.plain_text or "")
            await citizen.press("★★★★★")
            await citizen.wait_for_message(containing="Спасибо! Ваша оценка")
        finally:
            await runner.cleanup()


async def test_the_runner_runs_each_job_on_start_again_when_woken_and_goes_on_after_a_failure() -> (
    None
):
    runs: list[str] = []

    async def counted() -> None:
        runs.append("counted")

    async def failing() -> None:
        runs.append("failing")
        raise RuntimeError("the database is away")

    jobs = JobRunner(
        [PeriodicJob("counted", counted, 3600), PeriodicJob("failing", failing, 3600, 3600)]
    )
    context = jobs.context(None)  # type: ignore[arg-type]
    await anext(context)
    try:
        await asyncio.sleep(0.05)
        assert sorted(runs) == ["counted", "failing"]
        jobs.wake("counted")
        jobs.wake("unknown")  # a name no job has: nothing happens
        await asyncio.sleep(0.05)
        assert runs.count("counted") == 2 and runs.count("failing") == 1
    finally:
        with pytest.raises(StopAsyncIteration):
            await anext(context)
