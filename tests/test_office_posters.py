"""Office posters: the code on them rotates daily, so today's poster opens the office (and
yesterday's, within the grace days), an older photo, a forged or an unsigned code does not, in
Telegram and on the web; one walk-in per respondent per office per day; web bursts from one
network address are flagged. And the poster itself: its QR codes decode to the right links."""

from __future__ import annotations

import asyncio
import io
import os
import re
import sys
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import messages
from core.clock import reporting_day, utcnow
from core.integrity import ledger
from core.models import Response, ResponseStatus
from core.posters import PosterOffice, render_poster
from core.walk_ins import MAX_OFFICE_CODE, OfficeCodes, PosterCodeError
from tests.conftest import Seed
from tests.integrity_helpers import flags as stored_flags
from tests.test_anti_gaming import rules
from tests.test_telegram_bot import Running, bot, poster_payload  # noqa: F401 (fixture)
from tests.test_web_channel import HAPPY_RU, answer_in_order
from tests.web_fixtures import SECRET as WEB_SECRET
from tests.web_fixtures import WebApp, running_web_app


def today() -> date:
    # Asked each time: a long run can cross midnight in Kazakhstan (19:00 UTC).
    return reporting_day(utcnow())


CODES = OfficeCodes(b"poster-test-secret", grace_days=1)
DEEP_LINK = re.compile(r"[A-Za-z0-9_-]{1,64}")


# The code ----------------------------------------


def test_todays_and_yesterdays_codes_open_the_office_older_ones_do_not() -> None:
    assert CODES.read(CODES.code("ALA-01", today()), today()) == "ALA-01"
    assert CODES.read(CODES.code("ALA-01", today() - timedelta(days=1)), today()) == "ALA-01"
    assert CODES.read(CODES.code("ALA-01", today() - timedelta(days=2)), today()) is None
    assert CODES.read(CODES.code("ALA-01", today() + timedelta(days=1)), today()) is None
    strict = OfficeCodes(b"poster-test-secret", grace_days=0)
    assert strict.read(CODES.code("ALA-01", today() - timedelta(days=1)), today()) is None
    longer = OfficeCodes(b"poster-test-secret", grace_days=7)
    assert longer.read(CODES.code("ALA-01", today() - timedelta(days=7)), today()) == "ALA-01"


def test_a_service_offered_from_a_valid_code_is_sealed_and_expires_with_it() -> None:
    stamp = today().strftime("%Y%m%d")
    seal = CODES.offer_seal(3, 7, stamp)
    assert CODES.offer_open(3, 7, stamp, seal, today())
    assert CODES.offer_open(3, 7, stamp, seal, today() + timedelta(days=1))
    assert not CODES.offer_open(3, 7, stamp, seal, today() + timedelta(days=2))
    assert not CODES.offer_open(3, 8, stamp, seal, today())  # another service
    assert not CODES.offer_open(4, 7, stamp, seal, today())  # another office
    later = (today() + timedelta(days=1)).strftime("%Y%m%d")
    assert not CODES.offer_open(3, 7, later, seal, today())  # another day
    assert not CODES.offer_open(3, 7, stamp, OfficeCodes(b"forger").offer_seal(3, 7, stamp))
    assert not CODES.offer_open(3, 7, "2026-1-1", seal)
    assert len(f"s:{10**12}:{10**12}:{stamp}:{seal}") <= 64  # fits a Telegram button


async def test_a_forged_service_button_opens_nothing_and_keeps_the_open_invitation(
    bot: Running,  # noqa: F811
    seed: Seed,
    make_invitation: Any,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    citizen = bot.citizen(8103, language_code="ru")
    await citizen.send(f"/start {await make_invitation()}")
    card = await citizen.wait_for_message(containing="удовлетворены")
    stamp = today().strftime("%Y%m%d")
    forged_seal = OfficeCodes(b"forger").offer_seal(seed.office.id, seed.service.id, stamp)
    for data in (
        f"s:{seed.office.id}:{seed.service.id}",  # the old, unsealed form
        f"s:{seed.office.id}:{seed.service.id}:{stamp}:{forged_seal}",
        f"s:{seed.office.id}:{seed.service.id}:{stamp}:",
    ):
        await citizen.press_data(data, card.message_id)
        answer = await citizen.wait_callback_answer()
        assert answer.get("text") in (
            messages.text("office_code_stale", "ru"),
            messages.text("stale_button", "ru"),
        ), data
    async with session_factory() as session:
        [response] = list(await session.scalars(select(Response)))
        assert response.status is ResponseStatus.IN_PROGRESS and not response.walk_in


def test_forged_and_unsigned_codes_open_nothing() -> None:
    code = CODES.code("ALA-01", today())
    office, stamp, mac = code.rsplit("-", 2)
    other_day = (today() - timedelta(days=1)).strftime("%Y%m%d")
    for forged in (
        "ALA-01",  # an old, unsigned poster
        f"{office}-{other_day}-{mac}",  # another day, the same mac
        f"ALA-02-{stamp}-{mac}",  # another office, the same mac
        f"{office}-{stamp}-{'0' * 16}",
        f"{office}-{stamp}-{mac.upper()}",
        OfficeCodes(b"another-secret").code("ALA-01", today()),
        code + "0",
        "",
    ):
        assert CODES.read(forged, today()) is None, forged


@given(st.from_regex(rf"[A-Za-z0-9_-]{{1,{MAX_OFFICE_CODE}}}", fullmatch=True))
def test_every_postable_office_code_fits_a_telegram_deep_link(office: str) -> None:
    payload = CODES.payload(office, today())
    assert DEEP_LINK.fullmatch(payload), payload
    assert CODES.read(payload.removeprefix("o-"), today()) == office


@given(st.text(max_size=100))
def test_any_text_is_read_without_failing(text: str) -> None:
    assert CODES.read(text, today()) is None


def test_an_office_code_a_deep_link_cannot_carry_is_refused_with_a_reason() -> None:
    for bad in ("A" * (MAX_OFFICE_CODE + 1), "ЦОН-1", "ALA 01", ""):
        with pytest.raises(PosterCodeError, match="cannot go on a poster"):
            CODES.code(bad, today())


# Telegram ----------------------------------------


async def test_telegram_opens_todays_and_yesterdays_poster_only(bot: Running, seed: Seed) -> None:  # noqa: F811
    citizen = bot.citizen(8101, language_code="ru")
    stale = messages.text("office_code_stale", "ru")
    await citizen.send(f"/start {poster_payload(seed.office.code)}")
    await citizen.wait_for_message(containing="Какую услугу")
    await citizen.send(f"/start {poster_payload(seed.office.code, today() - timedelta(days=1))}")
    await citizen.wait_for_message(containing="Какую услугу")
    for payload in (
        poster_payload(seed.office.code, today() - timedelta(days=2)),  # an old photo
        "o-" + OfficeCodes(b"forger").code(seed.office.code, today()),  # forged
        f"o-{seed.office.code}",  # the old, unsigned form
    ):
        await citizen.send(f"/start {payload}")
        message = await citizen.wait_for_message(containing="QR")
        assert message.plain_text == stale, payload


async def test_telegram_allows_one_walk_in_per_office_per_day(bot: Running, seed: Seed) -> None:  # noqa: F811
    citizen = bot.citizen(8102, language_code="ru")
    await citizen.send(f"/start {poster_payload(seed.office.code)}")
    await citizen.wait_for_message(containing="Какую услугу")
    await citizen.press(seed.service.name_ru)
    await citizen.wait_for_message(containing="удовлетворены")

    await citizen.send(f"/start {poster_payload(seed.office.code)}")
    await citizen.wait_for_message(containing="Какую услугу")
    await citizen.press("Предоставление земельного участка")
    answer = await citizen.wait_callback_answer()
    assert answer.get("text") == messages.text("walk_in_limit", "ru")


async def test_telegram_says_already_rated_today_before_a_service_is_picked(
    bot: Running,  # noqa: F811
    seed: Seed,
) -> None:
    citizen = bot.citizen(8104, language_code="ru")
    await citizen.send(f"/start {poster_payload(seed.office.code)}")
    await citizen.wait_for_message(containing="Какую услугу")
    await citizen.press(seed.service.name_ru)
    await citizen.wait_for_message(containing="удовлетворены")
    await citizen.send("/stop")  # no walk-in here to carry on any more
    await citizen.wait_for_message()

    await citizen.send(f"/start {poster_payload(seed.office.code)}")
    said = await citizen.wait_for_message()
    assert said.plain_text == messages.text("walk_in_limit", "ru")
    assert said.buttons() == []  # no services offered to pick in vain


# Web ----------------------------------------


@pytest.fixture
async def site(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed
) -> AsyncIterator[WebApp]:
    async with running_web_app(session_factory) as app:
        yield app


async def test_the_web_opens_todays_and_yesterdays_poster_only(site: WebApp, seed: Seed) -> None:
    web_codes = OfficeCodes(WEB_SECRET.encode())
    citizen = site.citizen(accept_language="kk")
    for days_ago, status in ((0, 200), (1, 200), (2, 410), (30, 410)):
        code = web_codes.code(seed.office.code, today() - timedelta(days=days_ago))
        page = await citizen.open(f"/o/{code}")
        assert page.status == status, days_ago
        if status == 410:
            assert page.heading == messages.text("office_code_stale", "kk")
    forged = OfficeCodes(b"forger").code(seed.office.code, today())
    page = await citizen.open(f"/o/{forged}")
    assert (page.status, page.heading) == (410, messages.text("office_code_stale", "kk"))
    # The form of an old code can't be posted either.
    old = web_codes.code(seed.office.code, today() - timedelta(days=2))
    page = await citizen.post(f"/o/{old}", [("service", str(seed.service.id))])
    assert page.status in (403, 410)
    assert await site.responses() == []


async def test_a_burst_from_one_network_address_is_flagged(
    site: WebApp, seed: Seed, make_invitation
) -> None:
    for _ in range(3):  # three browsers (three identities), one address
        citizen = site.citizen(accept_language="ru")
        await citizen.start(await make_invitation())
        await answer_in_order(citizen, HAPPY_RU[:9])
        await citizen.answer(skip=True)
    responses = await site.responses()
    ids = [response.id for response in responses]
    assert len(ids) == 3 and all(r.status.value == "completed" for r in responses)
    # The chain keeper judges them within a second.
    await ledger.seal_all(site.session_factory, rules(network_burst={"max_responses": 2}))
    assert await stored_flags(site.session_factory) == {i: {"network_burst"} for i in ids}


# The poster ----------------------------------------


def decoded(png: bytes) -> set[str]:
    return {result.text for result in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))}


def test_the_poster_shows_the_office_and_its_qr_codes_decode_to_the_days_links() -> None:
    office = PosterOffice("ALA-01", "Алматы: №1 ХҚКО", "Алматы: ЦОН №1")
    day = date(2026, 3, 22)
    poster = render_poster(
        office, day, CODES, public_url="https://qanagat.example.kz/", bot_username="QanagatBot"
    )
    code = CODES.code("ALA-01", day)
    assert poster.telegram_link == f"https://t.me/QanagatBot?start=o-{code}"
    assert poster.web_link == f"https://qanagat.example.kz/o/{code}"
    for words in ("Алматы: №1 ХҚКО", "Алматы: ЦОН №1", "Қызмет сапасын бағалаңыз", "22.03.2026"):
        assert words in poster.svg
    assert decoded(poster.png()) == {poster.telegram_link, poster.web_link}
    assert poster.pdf().startswith(b"%PDF")
    assert CODES.read(poster.telegram_link.split("start=o-")[1], day) == "ALA-01"


def test_office_names_are_escaped_in_the_svg() -> None:
    office = PosterOffice("X-1", "<script>&", 'a"b')
    poster = render_poster(office, today(), CODES, public_url="http://h", bot_username="b")
    assert "<script>" not in poster.svg and "&lt;script&gt;&amp;" in poster.svg


async def test_qanagat_qr_writes_svg_png_and_pdf_per_office(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed, database_url: str, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "QANAGAT_DATABASE_URL": database_url,
        "QANAGAT_SECRET_KEY": "poster-cli-secret-0123456789",
        "QANAGAT_PUBLIC_URL": "https://qanagat.example.kz",
    }

    async def qr(*args: str) -> tuple[int, str]:
        process = await asyncio.create_subprocess_exec(
            str(Path(sys.executable).with_name("qanagat")),
            "qr",
            *args,
            env=env,
            cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await process.communicate()
        assert process.returncode is not None
        return process.returncode, output.decode()

    status, output = await qr(seed.office.code, "--day", "2026-05-04", "--out", "out")
    assert status == 0, output
    stem = tmp_path / "out" / f"poster-{seed.office.code}-2026-05-04"
    files = {suffix: stem.with_suffix(suffix) for suffix in (".svg", ".png", ".pdf")}
    assert all(path.exists() for path in files.values()), output
    code = OfficeCodes(b"poster-cli-secret-0123456789").code(seed.office.code, date(2026, 5, 4))
    assert decoded(files[".png"].read_bytes()) == {
        f"https://t.me/QanagatBot?start=o-{code}",
        f"https://qanagat.example.kz/o/{code}",
    }
    assert seed.office.name_kk in files[".svg"].read_text()

    status, output = await qr("NO-SUCH", "--out", "out")
    assert status == 1 and "no such office: NO-SUCH" in output
    status, output = await qr(seed.office.code, "--day", "yesterday")
    assert status == 2 and "not a date" in output
