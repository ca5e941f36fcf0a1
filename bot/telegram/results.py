"""The public results in the chat: after a completed survey the office's current rating and a
link to its page, on the thank-you card; `/results` gives the link to the whole country's
results and, when the person rated an office, that office's rating. The ratings come from the
composition (`office_ratings` in the dispatcher's data, `core.public_results.OfficeRatings`)."""

from __future__ import annotations

from html import escape

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message

from bot.telegram.middlewares import WANTS_RESPONDENT
from core.models import Respondent
from core.public_results import OfficeRating, OfficeRatings


def rating_text(rating: OfficeRating, lang: str) -> str:
    link = f'<a href="{escape(rating.url_in(lang))}">{escape(rating.link_text[lang])}</a>'
    return f"📊 {escape(rating.says[lang])}\n{link}"


async def office_rating_line(
    ratings: OfficeRatings | None, office_id: int | None, lang: str
) -> str | None:
    """The rated office's rating for the thank-you card (none without an office, or when the
    results are not composed in)."""
    if ratings is None or office_id is None:
        return None
    rating = await ratings.of_office(office_id)
    return rating_text(rating, lang) if rating is not None else None


async def on_results(
    message: Message, respondent: Respondent, lang: str, office_ratings: OfficeRatings | None
) -> None:
    if office_ratings is None:
        return
    lines = [escape(office_ratings.home_line(lang))]
    rating = await office_ratings.of_respondent(respondent.id)
    if rating is not None:
        lines.insert(0, rating_text(rating, lang))
    await message.answer("\n\n".join(lines), disable_web_page_preview=True)


def build_router() -> Router:
    router = Router(name="results")
    router.message.register(on_results, Command("results"), flags=WANTS_RESPONDENT)
    return router
