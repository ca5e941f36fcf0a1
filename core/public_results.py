"""What the citizen channels may know of the public results pages, without importing them: an
office's current rating, looked up through `OfficeRatings` (the results package implements it;
the composition in `qanagat/app.py` hands it to the web pages and the bot). The texts come ready
in kk, ru and en, so a channel only shows them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class OfficeRating:
    """An office's satisfied share this year as the public page shows it (`share` and `n` are
    None below the minimum cell), a sentence saying so and a link, per language."""

    office_code: str
    share: float | None
    n: int | None
    says: Mapping[str, str]  # language -> "This office's rating: 81 % satisfied (n = 412)."
    link_text: Mapping[str, str]  # language -> "See the results"
    path: str  # the office's public page on this site (/results/offices/CODE)
    public_url: str  # the site's address, for links sent outside it (Telegram)

    def path_in(self, lang: str) -> str:
        return f"{self.path}?lang={lang}"

    def url_in(self, lang: str) -> str:
        return self.public_url + self.path_in(lang)


class OfficeRatings(Protocol):
    """Current ratings of offices; None when there is no office (an eGov service)."""

    async def of_office(self, office_id: int) -> OfficeRating | None: ...

    async def of_respondent(self, respondent_id: int) -> OfficeRating | None:
        """The office of the person's last completed response."""
        ...

    def home_line(self, lang: str) -> str:
        """A sentence with the address of the whole country's results, in `lang`."""
        ...
