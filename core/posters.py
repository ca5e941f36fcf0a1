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


@dataclass(frozen=True)
class PosterOffice:
    """What a poster needs to know of an office (a ServicePoint has all of it)."""

    code: str
    name_kk: str
    name_ru: str


@dataclass(frozen=True)
class Poster:
    office_code: str
    day: date
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

    @property
    def file_stem(self) -> str:
        return f"poster-{self.office_code}-{self.day.isoformat()}"


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
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH_MM}mm" height="{HEIGHT_MM}mm" '
        f'viewBox="0 0 {WIDTH_MM} {HEIGHT_MM}" font-family="{FONT}">',
        f'<rect width="{WIDTH_MM}" height="{HEIGHT_MM}" fill="#ffffff"/>',
        f'<rect width="{WIDTH_MM}" height="42" fill="{ACCENT}"/>',
        _text(105, 19, WORDS["headline"]["kk"], 10, fill="#ffffff", bold=True),
        _text(105, 32, WORDS["headline"]["ru"], 8, fill="#ffffff"),
    ]
    y = 56.0
    for name, size, bold in ((office.name_kk, 7.0, True), (office.name_ru, 6.0, False)):
        for line in textwrap.wrap(name, 44)[:2]:
            parts.append(_text(105, y, line, size, bold=bold))
            y += size * 1.3
    y += 3
    for lang in ("kk", "ru"):
        for line in textwrap.wrap(WORDS["call"][lang], 58):
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
        parts.append(_text(105, y, WORDS["anonymous"][lang], 4))
        y += 6
    stamp = day.strftime("%d.%m.%Y")
    valid = f"{WORDS['valid']['kk']}: {stamp} · {WORDS['valid']['ru']}: {stamp}"
    parts.append(_text(105, HEIGHT_MM - 14, valid, 4, fill=ACCENT, bold=True))
    parts.append(_text(105, HEIGHT_MM - 7, "Qanagat", 3.5, fill="#777777"))
    parts.append("</svg>")
    return Poster(office.code, day, telegram, web, "\n".join(parts) + "\n")


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
