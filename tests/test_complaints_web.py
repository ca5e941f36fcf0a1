"""Filing a complaint on the mobile page: from the thank-you page after a low rating, one form
(category, text, consent), POST/redirect/GET, the visitor's CSRF token; bad input comes back
as a clear message on the same form, and only the visitor who answered can file."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.messages import text
from bot.web.complaints import setup_web_complaints
from core.models import Complaint, ComplaintCategory, ComplaintStatus
from scoring.privacy import scrub
from tests.conftest import Seed
from tests.test_web_channel import answer_in_order
from tests.web_fixtures import Citizen, WebApp, build_web_app

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
        ([("category", "rudeness"), ("text", "Очень долго")], "complaint_pick_consent"),
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
