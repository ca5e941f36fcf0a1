"""After a completed survey the citizen sees their office's current rating (or that it has not
enough ratings yet) and a link to its public page: on the web's thank-you page (and the office
poster's page) and in Telegram;
`/results` in the bot gives the link to the whole country's results and the rating of the
office the person rated last."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from aiohttp.test_utils import TestServer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.web.keys import RATINGS_KEY
from core.clock import utcnow
from core.integrity import ledger
from core.rollups import add_rollup_rows, counter_rows
from results.pages import setup_results
from results.ratings import ResultsRatings
from tests.conftest import LENIENT, Seed
from tests.test_telegram_bot import HAPPY_PATH_KK, Running, bot, rate  # noqa: F401 (fixture)
from tests.web_fixtures import WebApp, build_web_app, poster_path


async def add_ratings(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed, satisfied: int, total: int
) -> None:
    """`total` ratings of the office this month, `satisfied` of them 5, the rest 2."""
    from collections import Counter

    counts: Counter[tuple[str, str]] = Counter(
        {("satisfaction", "5"): satisfied, ("satisfaction", "2"): total - satisfied}
    )
    counts[("responses", "web")] = total
    when: datetime = utcnow()
    async with session_factory() as session:
        await add_rollup_rows(
            session, counter_rows(when, seed.agency.id, seed.service.id, seed.office.id, counts)
        )
        await session.commit()


async def finish_on_the_web(app: WebApp, token: str, lang: str) -> str:
    citizen = app.citizen(lang)
    await citizen.open(f"/s/{token}?lang={lang}")
    page = await citizen.start(token)
    for _ in range(15):
        if page.question is None:
            break
        values = [i.attrs.get("value", "") for i in page.inputs if i.attrs.get("name") == "value"]
        values += [b.attrs.get("value", "") for b in page.buttons if b.attrs.get("name") == "value"]
        page = await citizen.answer(values[0]) if values else await citizen.answer(skip=True)
    assert page.question is None
    return page.html


async def test_the_web_thank_you_page_shows_the_offices_rating_and_its_page(
    session_factory: async_sessionmaker[AsyncSession],
    seed: Seed,
    make_invitation: Callable[..., Awaitable[str]],
) -> None:
    app = build_web_app(session_factory)
    pages = setup_results(app, session_factory, refresh_seconds=0)
    app[RATINGS_KEY] = ResultsRatings(
        session_factory, pages, "https://qanagat.test", refresh_seconds=0
    )
    server = TestServer(app)
    await server.start_server()
    web = WebApp(server, session_factory)
    try:
        few = await finish_on_the_web(web, await make_invitation(), "ru")
        assert "Для этого места пока недостаточно оценок." in few
        assert 'href="/results/offices/ALA-01?lang=ru"' in few
        # The chain keeper counts it within a second.
        await ledger.seal_all(session_factory, LENIENT)
        await add_ratings(session_factory, seed, satisfied=120, total=150)
        enough = await finish_on_the_web(web, await make_invitation(), "kk")
        # The rating as counted so far: the first survey, not yet this one.
        assert "Бұл орынның рейтингі:" in enough and "n = 151" in enough
        assert 'href="/results/offices/ALA-01?lang=kk"' in enough
        poster = await web.citizen("ru").open(poster_path(seed.office.code) + "?lang=ru")
        assert poster.status == 200 and "Рейтинг этого места:" in poster.html
    finally:
        for session in web.sessions:
            await session.close()
        await server.close()


async def test_telegram_tells_the_offices_rating_after_the_survey_and_on_results(
    bot: Running,  # noqa: F811
    make_invitation: Callable[..., Awaitable[str]],
) -> None:
    citizen = bot.citizen(7101, language_code="kk")
    await citizen.send(f"/start {await make_invitation()}")
    # Telegram says the person reads Kazakh: the survey starts without asking a language
    await citizen.wait_for_message(containing="Сұрақ 1/")
    await rate(citizen, HAPPY_PATH_KK)
    # The thank-you card itself tells the office's rating, with the link to its page
    thanks = citizen.last_message
    assert thanks is not None
    assert "Бұл орын үшін бағалар әлі жеткіліксіз" in (thanks.plain_text or "")
    assert "/results/offices/ALA-01?lang=kk" in (thanks.text or "")
    await citizen.send("/results")
    answer = await citizen.wait_for_message(containing="Бүкіл ел бойынша нәтижелер")
    assert "/results?lang=kk" in (answer.plain_text or "")
    assert "Бұл орын үшін бағалар әлі жеткіліксіз" in (answer.plain_text or "")
