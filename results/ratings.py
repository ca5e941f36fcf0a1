"""Offices' current ratings for the citizen channels (`core.public_results.OfficeRatings`):
after a completed survey, on the office's poster page and for the bot's /results. The same
figures as the office's public page (this year's rollups, the minimum cell), kept in this
process for `refresh_seconds`, so a burst of completions at one office reads its rollups once."""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import reporting_day, utcnow
from core.language import number
from core.models import Response, ResponseStatus
from core.public_results import OfficeRating
from results import words
from results.figures import Level, Place, place_figures
from results.pages import MOUNT, REFRESH_SECONDS, PublicResults, percent, results_path


class ResultsRatings:
    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        pages: PublicResults,
        public_url: str,
        refresh_seconds: float = REFRESH_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.session_factory = session_factory
        self.pages = pages
        self.public_url = public_url.rstrip("/")
        self.refresh_seconds = refresh_seconds
        self.clock = clock
        self._known: dict[int, tuple[float, OfficeRating | None]] = {}

    def home_line(self, lang: str) -> str:
        return words.say("rating_home", lang, url=f"{self.public_url}{MOUNT}?lang={lang}")

    async def of_office(self, office_id: int) -> OfficeRating | None:
        known = self._known.get(office_id)
        if known is not None and self.clock() - known[0] < self.refresh_seconds:
            return known[1]
        rating = await self._rating(office_id)
        if len(self._known) > 10_000:
            self._known.clear()
        self._known[office_id] = (self.clock(), rating)
        return rating

    async def of_respondent(self, respondent_id: int) -> OfficeRating | None:
        async with self.session_factory() as session:
            office_id = await session.scalar(
                select(Response.service_point_id)
                .where(
                    Response.respondent_id == respondent_id,
                    Response.status == ResponseStatus.COMPLETED,
                    Response.service_point_id.is_not(None),
                )
                .order_by(Response.completed_at.desc())
                .limit(1)
            )
        return await self.of_office(office_id) if office_id else None

    async def _rating(self, office_id: int) -> OfficeRating | None:
        state = await self.pages.state()
        office = state.directory.office_ids.get(office_id)
        if office is None:
            return None
        sums = await self.pages.sums(reporting_day(utcnow()).year, state)
        satisfied = place_figures(sums, Place(Level.OFFICE, office.id)).satisfied
        if satisfied.share is not None and satisfied.n is not None:
            share, n = satisfied.share, satisfied.n
            says = {
                lang: words.say(
                    "rating_line", lang, share=percent(share, lang), n=number(n, lang, 0)
                )
                for lang in words.LANGUAGES
            }
        else:
            says = {lang: words.say("rating_not_enough", lang) for lang in words.LANGUAGES}
        return OfficeRating(
            office.code,
            satisfied.share,
            satisfied.n,
            says,
            {lang: words.say("rating_link", lang) for lang in words.LANGUAGES},
            results_path(Level.OFFICE, office.code),
            self.public_url,
        )
