"""Filing a complaint on the mobile page: from the thank-you page after a low rating, one form
(category, text, consent), POST/redirect/GET, the visitor's CSRF token; bad input comes back
as a clear message on the same form, and only the visitor who answered can file."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from admin.complaints import complaint_view, survey_answers
from admin.survey_questions import survey_questions
from bot.messages import text
from bot.web.complaints import setup_web_complaints
from core.complaints import answer, move_to
from core.models import AdminRole, Complaint, ComplaintCategory, ComplaintStatus
from scoring.privacy import scrub
from tests.conftest import Seed
from tests.test_web_channel import answer_in_order
from tests.web_fixtures import Citizen, PageView, WebApp, build_web_app

LOW_RATING = [
    ("deadline_met", "no"),
    ("refused", "no"),
    ("extra_documents", "no"),
    ("full_package", "yes"),
    ("staff", "1"),
    ("clarity", "2"),
    ("received_via", "service_centre"),
    ("info_quality", "2"),
    ("complaint", "yes"),
]


@pytest.fixture
async def site(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed
) -> AsyncIterator[WebApp]:
    app = build_web_app(session_factory)
    setup_web_complaints(app, scrub)
    server = TestServer(app)
    await server.start_server()
    running = WebApp(server, session_factory)
    try:
        yield running
    finally:
        for session in running.sessions:
            await session.close()
        await server.close()


async def rated_low(citizen: Citizen, token: str) -> str:
    """Answer the survey with low ratings and a complaint wish; the thank-you page's link."""
    await citizen.start(token)
    await citizen.answer("1")
    page = citizen.current
    await citizen.answer(page.value_for_label("Долгое ожидание"))
    await answer_in_order(citizen, LOW_RATING)
    thanks = await citizen.answer(skip=True)
    [link] = [
        c.attrs["href"] for c in thanks.links if c.attrs.get("href", "").endswith("/complaint")
    ]
    return link


async def complaints(session_factory: async_sessionmaker[AsyncSession]) -> list[Complaint]:
    async with session_factory() as session:
        return list(await session.scalars(select(Complaint)))


async def test_a_citizen_files_a_complaint_from_the_thank_you_page(
    site: WebApp,
    seed: Seed,
    make_invitation: Callable[..., Awaitable[str]],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    citizen = site.citizen("ru")
    link = await rated_low(citizen, await make_invitation())
    form = await citizen.open(link)
    assert form.status == 200 and text("complaint_ask_category", "ru") in form.html
    csrf = form.hidden("csrf") or ""

    for fields, says in [
        ([("text", "Очень долго"), ("consent", "no")], "complaint_pick_category"),
        (
            [("category", "bribes"), ("text", "Очень долго"), ("consent", "no")],
            "complaint_pick_category",
        ),
        ([("category", "rudeness"), ("text", "Очень долго")], "web_complaint_pick_consent"),
        ([("category", "rudeness"), ("text", "   "), ("consent", "no")], "complaint_text_empty"),
        (
            [("category", "rudeness"), ("text", "🙄🙄"), ("consent", "no")],
            "complaint_text_no_words",
        ),
        (
            [("category", "rudeness"), ("text", "等了很久很久"), ("consent", "no")],
            "complaint_text_script",
        ),
        (
            [("category", "rudeness"), ("text", "я" * 2001), ("consent", "no")],
            "complaint_text_too_long",
        ),
    ]:
        page = await citizen.post(link, [("csrf", csrf), *fields])
        assert page.status == 200 and page.path == link
        assert page.error == text(says, "ru", limit=2000), says
    assert [c.status for c in await complaints(session_factory)] in ([], [ComplaintStatus.DRAFT])

    # a forged ?e= says nothing of ours; a form without the token is refused
    forged = await citizen.open(f"{link}?e=<script>alert(1)</script>")
    assert forged.error is None and "<script>alert" not in forged.html
    refused = await citizen.post(link, [("category", "rudeness"), ("text", "x"), ("consent", "no")])
    assert refused.status == 403

    filed = await citizen.post(
        link,
        [
            ("csrf", csrf),
            ("category", "waiting_time"),
            ("text", "Ждал 3 часа, звоните 8 701 234 5678"),
            ("consent", "yes"),
        ],
    )
    assert filed.status == 200 and filed.path == link
    [complaint] = await complaints(session_factory)
    assert complaint.status is ComplaintStatus.RECEIVED
    assert complaint.category is ComplaintCategory.WAITING_TIME
    assert complaint.text is not None and "701" not in complaint.text
    assert complaint.service_point_id == seed.office.id
    assert filed.contains(complaint.reference)
    # reloading, or posting again, files nothing twice
    again = await citizen.post(
        link, [("csrf", csrf), ("category", "other"), ("text", "ещё"), ("consent", "no")]
    )
    assert again.contains(complaint.reference)
    async with session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(Complaint)) == 1


async def test_someone_elses_or_a_forged_complaint_page_is_refused(
    site: WebApp, make_invitation: Callable[..., Awaitable[str]]
) -> None:
    owner = site.citizen("ru")
    link = await rated_low(owner, await make_invitation())
    stranger = site.citizen("en")
    await stranger.open("/s/nothing")  # a browser of its own, with its own cookie
    assert (await stranger.open(link)).status == 403
    assert (await stranger.post(link, [("category", "rudeness")])).status == 403
    assert (await owner.open("/r/forged-ref/complaint")).status == 404
    async with (
        aiohttp.ClientSession(base_url=site.server.make_url("/")) as raw,
        raw.put(link) as response,
    ):
        assert response.status == 405


async def _file(citizen: Citizen, link: str, consent: str) -> PageView:
    form = await citizen.open(link)
    fields = [("category", "waiting_time"), ("text", "Ждал три часа"), ("consent", consent)]
    return await citizen.post(link, [("csrf", form.hidden("csrf") or ""), *fields])


async def test_the_web_complainant_reads_the_answer_and_its_history_and_rates_it(
    site: WebApp,
    make_invitation: Callable[..., Awaitable[str]],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    citizen = site.citizen("ru")
    link = await rated_low(citizen, await make_invitation())
    # the consent question speaks of this page, not of a chat
    form = await citizen.open(link)
    assert text("web_complaint_ask_consent", "ru") in form.html
    assert text("complaint_ask_consent", "ru") not in form.html
    filed = await _file(citizen, link, "yes")
    assert text("web_complaint_answer_here", "ru") in filed.html
    assert [b for b in filed.buttons if b.attrs.get("name") == "rating"] == []

    [complaint] = await complaints(session_factory)
    async with session_factory() as session:
        # the agency is told the answer goes to this web page, not to a chat
        admin = SimpleNamespace(role=AdminRole.ADMIN, agency_id=None)
        seen = await complaint_view(session, admin, complaint.reference, "ru", date.today())
        assert seen is not None and seen.reply_channel == "web" and seen.consent_to_answer
        # and it reads the citizen's survey answers about that service, in words
        questions = survey_questions(Path(__file__).parent.parent / "survey_definitions")
        given = dict(await survey_answers(session, admin, complaint.reference, questions, "ru"))
        assert given["Что пошло не так? Можно выбрать несколько ответов."] == "Долгое ожидание"
        assert given["Услуга была оказана в установленный срок?"] == "нет"
        stored = await session.get(Complaint, complaint.id)
        assert stored is not None
        move_to(session, stored, ComplaintStatus.IN_REVIEW, "staff@agency.kz")
        answer(session, stored, "Мы сократили очередь: открыли второе окно.", "staff@agency.kz")
        await session.commit()

    page = await citizen.open(link)
    assert "Мы сократили очередь: открыли второе окно." in page.html
    assert text("complaint_answer_heading", "ru") in page.html
    assert ".." not in page.html  # a date ending in "г." does not get a second full stop
    history = [p for p in page.html.split('class="history-at"')[1:]]
    assert len(history) == 3  # received, in review, answered: each with its time
    for status in ("received", "in_review", "answered"):
        assert text(f"complaint_status_{status}", "ru") in page.html
    assert "staff@agency.kz" not in page.html  # who answered stays inside the agency

    csrf = page.hidden("csrf") or ""
    refused = await citizen.post(link, [("csrf", csrf), ("rating", "9")])
    assert refused.error == text("web_complaint_pick_rating", "ru")
    rated = await citizen.post(link, [("csrf", csrf), ("rating", "4")])
    assert rated.contains(text("web_complaint_rated", "ru", rating=4))
    assert [i for i in rated.inputs if i.attrs.get("name") == "rating"] == []
    again = await citizen.post(link, [("csrf", csrf), ("rating", "1")])
    assert again.error == text("complaint_already_rated", "ru")
    async with session_factory() as session:
        assert (await session.get(Complaint, complaint.id)).answer_rating == 4  # type: ignore[union-attr]


async def test_the_thank_you_page_offers_the_complaint_then_shows_it_filed(
    site: WebApp, make_invitation: Callable[..., Awaitable[str]]
) -> None:
    citizen = site.citizen("ru")
    token = await make_invitation()
    link = await rated_low(citizen, token)
    thanks_path = link.removesuffix("/complaint")
    before = await citizen.open(thanks_path)
    assert text("web_complaint_prompt", "ru") in before.paragraphs
    assert [a.text for a in before.links if a.attrs.get("href") == link] == [
        text("web_complaint_link", "ru")
    ]
    filed = await _file(citizen, link, "no")
    assert text("web_complaint_no_answer_wanted", "ru") in filed.html
    after = await citizen.open(thanks_path)
    assert text("web_complaint_link", "ru") not in [a.text for a in after.links]
    assert [a.text for a in after.links if a.attrs.get("href") == link] == [
        text("web_complaint_open", "ru")
    ]
    assert any(
        p.startswith(text("web_complaint_on_file", "ru", reference="Q-", status="")[:14])
        for p in after.paragraphs
    )
