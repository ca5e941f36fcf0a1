"""The printable poster of an office for one day: two QR codes (the Telegram deep link and the
web link, both carrying the day's signed code), the office's name and a short call to action in
Kazakh and Russian. SVG is the design; PNG and PDF are rendered from it by CairoSVG.

The poster's code rotates daily (core/walk_ins.py), so a poster is printed for its day or shown
on a screen in the office. `render_poster` is what the CLI (`qanagat qr`) uses now and what the
admin will serve, behind its login: a poster served to anyone would defeat the rotation.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import escape

import segno

from core.walk_ins import OfficeCodes

WIDTH_MM, HEIGHT_MM = 210, 297  # A4 portrait
PNG_WIDTH_PX = 1240  # A4 at 150 dpi: sharp enough on paper, and for a screen
FONT = "DejaVu Sans, Noto Sans, Arial, sans-serif"  # Cyrillic with the Kazakh letters
ACCENT = "#00707C"

WORDS = {
    "headline": {"kk": "Қызмет сапасын бағалаңыз", "ru": "Оцените качество услуги"},
    "call": {
        "kk": "Қызметті алдыңыз ба? QR-кодты телефонмен сканерлеп, бір минутта бағалаңыз.",
        "ru": "Получили услугу? Отсканируйте QR-код телефоном и оцените её за минуту.",
    },
    "anonymous": {
        "kk": "Жауаптар жасырын: атыңыз бен телефоныңыз сақталмайды.",
        "ru": "Ответы анонимны: имя и телефон не сохраняются.",
    },
    "telegram": {"kk": "Telegram арқылы", "ru": "Через Telegram"},
    "web": {"kk": "Браузерде", "ru": "В браузере"},
    "valid": {"kk": "Код жарамды", "ru": "Код действителен"},
}
DATASET_WORDS = {
    "headline": {"kk": "Деректер жинағын бағалаңыз", "ru": "Оцените набор данных"},
    "call": {
        "kk": "Осы ашық деректерді пайдаландыңыз ба? QR-кодты сканерлеп, толықтығы мен "
        "өзектілігін бағалаңыз немесе қатені хабарлаңыз.",
        "ru": "Пользовались этими открытыми данными? Отсканируйте QR-код, оцените их полноту и "
        "актуальность или сообщите об ошибке.",
    },
    "anonymous": WORDS["anonymous"],
}


@dataclass(frozen=True)
class PosterOffice:
    """What a poster needs to know of an office (a ServicePoint has all of it)."""

    code: str
    name_kk: str
    name_ru: str


@dataclass(frozen=True)
class Poster:
    file_stem: str  # the files' name without the extension
    telegram_link: str
    web_link: str
    svg: str

    def png(self) -> bytes:
        cairosvg = _cairosvg()
        data: bytes = cairosvg.svg2png(bytestring=self.svg.encode(), output_width=PNG_WIDTH_PX)
        return data

    def pdf(self) -> bytes:
        cairosvg = _cairosvg()
        data: bytes = cairosvg.svg2pdf(bytestring=self.svg.encode())
        return data


class PosterRenderingUnavailable(RuntimeError):
    pass


def _cairosvg() -> Any:
    # Imported when needed: it loads the system's Cairo library, which only PNG and PDF need.
    try:
        import cairosvg  # type: ignore[import-untyped]
    except OSError as error:  # no libcairo2 on this machine
        raise PosterRenderingUnavailable(
            f"PNG and PDF posters need the Cairo library (Debian: libcairo2): {error}"
        ) from None
    return cairosvg


def poster_links(
    office_code: str, day: date, codes: OfficeCodes, public_url: str, bot_username: str
) -> tuple[str, str]:
    """The (Telegram, web) links a poster for `day` carries."""
    telegram = f"https://t.me/{bot_username}?start={codes.payload(office_code, day)}"
    web = f"{public_url.rstrip('/')}/o/{codes.code(office_code, day)}"
    return telegram, web


def render_poster(
    office: PosterOffice,
    day: date,
    codes: OfficeCodes,
    *,
    public_url: str,
    bot_username: str,
) -> Poster:
    """The poster of `office` for `day`. Raises PosterCodeError for an office code that cannot
    travel in a Telegram deep link."""
    telegram, web = poster_links(office.code, day, codes, public_url, bot_username)
    stamp = day.strftime("%d.%m.%Y")
    footer = f"{WORDS['valid']['kk']}: {stamp} · {WORDS['valid']['ru']}: {stamp}"
    svg = _layout(WORDS, (office.name_kk, office.name_ru), telegram, web, footer)
    return Poster(f"poster-{office.code}-{day.isoformat()}", telegram, web, svg)


def dataset_links(
    payload: str, external_id: str, public_url: str, bot_username: str
) -> tuple[str, str]:
    """The (Telegram, web) links of an open data set's rating: the deep link carries `payload`
    (core.dataset_ratings.payload_for), the web link the set's page on the mobile site."""
    telegram = f"https://t.me/{bot_username}?start={payload}"
    web = f"{public_url.rstrip('/')}/d/{quote(external_id, safe='')}"
    return telegram, web


def render_dataset_poster(
    external_id: str,
    titles: tuple[str, str],
    payload: str,
    *,
    public_url: str,
    bot_username: str,
) -> Poster:
    """A data set's card for its portal page or a printout: the set's titles (kk, ru) and the
    Telegram and web QR codes of its rating. It never expires (nothing rotates)."""
    telegram, web = dataset_links(payload, external_id, public_url, bot_username)
    stem = "dataset-" + "".join(ch if ch.isalnum() or ch in "_-" else "_" for ch in external_id)
    return Poster(stem, telegram, web, _layout(DATASET_WORDS, titles, telegram, web, "Qanagat"))


def _layout(
    words: dict[str, dict[str, str]],
    names: tuple[str, str],
    telegram: str,
    web: str,
    footer: str,
) -> str:
    """One A4 page: headline, the subject's names in kk and ru, the call to action, the two QR
    codes with their links, the anonymity note and a footer line."""
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH_MM}mm" height="{HEIGHT_MM}mm" '
        f'viewBox="0 0 {WIDTH_MM} {HEIGHT_MM}" font-family="{FONT}">',
        f'<rect width="{WIDTH_MM}" height="{HEIGHT_MM}" fill="#ffffff"/>',
        f'<rect width="{WIDTH_MM}" height="42" fill="{ACCENT}"/>',
        _text(105, 19, words["headline"]["kk"], 10, fill="#ffffff", bold=True),
        _text(105, 32, words["headline"]["ru"], 8, fill="#ffffff"),
    ]
    y = 56.0
    for name, size, bold in ((names[0], 7.0, True), (names[1], 6.0, False)):
        for line in textwrap.wrap(name, 44)[:2]:
            parts.append(_text(105, y, line, size, bold=bold))
            y += size * 1.3
    y += 3
    for lang in ("kk", "ru"):
        for line in textwrap.wrap(words["call"][lang], 58):
            parts.append(_text(105, y, line, 4.6))
            y += 6
        y += 1.5
    qr_top, qr_size = max(y + 4, 100.0), 84.0
    for x, link, label in ((15.0, telegram, "telegram"), (111.0, web, "web")):
        parts.append(_qr(link, x, qr_top, qr_size))
        caption_y = qr_top + qr_size + 8
        parts.append(_text(x + qr_size / 2, caption_y, WORDS[label]["kk"], 5, bold=True))
        parts.append(_text(x + qr_size / 2, caption_y + 6.5, WORDS[label]["ru"], 4.5))
    y = qr_top + qr_size + 26
    for line in (telegram, web):
        parts.append(_text(105, y, line, 3.2, fill="#444444"))
        y += 5
    y += 6
    for lang in ("kk", "ru"):
        parts.append(_text(105, y, words["anonymous"][lang], 4))
        y += 6
    parts.append(_text(105, HEIGHT_MM - 14, footer, 4, fill=ACCENT, bold=True))
    parts.append(_text(105, HEIGHT_MM - 7, "Qanagat", 3.5, fill="#777777"))
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _text(
    x: float, y: float, value: str, size: float, *, fill: str = "#111111", bold: bool = False
) -> str:
    weight = ' font-weight="bold"' if bold else ""
    return (
        f'<text x="{x:g}" y="{y:g}" font-size="{size:g}" fill="{fill}"{weight} '
        f'text-anchor="middle">{escape(value)}</text>'
    )


def _qr(link: str, x: float, y: float, size: float) -> str:
    """The QR code of `link` as a nested SVG (segno draws it, with its quiet zone), at x, y."""
    code = segno.make(link, error="m", micro=False)
    inline = code.svg_inline(border=4, omitsize=True)
    assert inline.startswith("<svg ")
    return f'<svg x="{x:g}" y="{y:g}" width="{size:g}" height="{size:g}" ' + inline[len("<svg ") :]
