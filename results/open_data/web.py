"""/results/data: the list of packages (kk, ru, en; plain HTML, phone first) and their zips.

    GET /results/data                  the closed periods with a package, a download link each
    GET /results/data/{name}.zip       the package, built on first download and kept on disk

A package is built once per closed period and state of its data (`gather.fingerprint`: a run
published or withdrawn, older counters rewritten) and kept as
`<cache>/qanagat-<period>-<fingerprint>.zip`; the open month has no package. Public and
cacheable: no cookie is set, and the kept file answers conditional requests.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web
from markupsafe import Markup, escape
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.language import LANGUAGES, preferred_language
from core.periods import Period, PeriodError, parse_period
from core.score_runs import published_score_runs
from lined_yaml import load_with_lines
from results.disclosure import disclosure_rule
from results.open_data.gather import fingerprint, gather, package_periods
from results.open_data.package import package_name, write_package, zip_package

log = logging.getLogger(__name__)
HERE = Path(__file__).parent
LANG_COOKIE = "qanagat_lang"  # the citizen pages' remembered choice (read, never set here)
DEFAULT_LANGUAGE = "kk"
LANGUAGE_NAMES = (("kk", "Қазақша"), ("ru", "Русский"), ("en", "English"))
STANDARD = Markup('<span lang="en">Frictionless Data Package</span>')
LIST_SECONDS = 300  # the list is read afresh at most this often
ZIP_CACHE_CONTROL = "public, max-age=3600"
PAGE_CACHE_CONTROL = "public, max-age=300"
# The page styles itself inline and runs no script; a zip or a refusal needs nothing at all.
PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
FILE_CSP = "default-src 'none'; base-uri 'none'; form-action 'none'"


@dataclass(frozen=True)
class Listed:
    period: str
    kind: str
    runs: int
    url: str


@dataclass
class OpenData:
    sessions: async_sessionmaker[AsyncSession]
    wanted_dir: Path  # where packages should be kept; `cache_dir` is where they are
    cache_dir: Path | None = None
    listed: tuple[float, list[Listed]] | None = None
    lock: asyncio.Lock | None = None


OPEN_DATA = web.AppKey("open_data", OpenData)


@cache
def messages() -> dict[str, dict[str, str]]:
    document, _lines = load_with_lines((HERE / "messages.yaml").read_text(encoding="utf-8"))
    return {key: dict(value) for key, value in document.items()}


@cache
def _template() -> jinja2.Template:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    return environment.get_template("open_data.html")


def language_of(request: web.Request) -> str:
    asked = request.query.get("lang", "")
    if asked in LANGUAGES:
        return asked
    remembered = request.cookies.get(LANG_COOKIE, "")
    if remembered in LANGUAGES:
        return remembered
    return preferred_language(request.headers.get("Accept-Language", "")) or DEFAULT_LANGUAGE


def _kind(period: Period) -> str:
    if len(period.name) == 4:
        return "year"
    return "quarter" if "Q" in period.name else "month"


def usable_cache_dir(wanted: Path) -> Path:
    """`wanted`, or a folder in the system's temporary directory when it cannot be written
    (an installed image whose package folder belongs to root)."""
    for candidate in (wanted, Path(tempfile.gettempdir()) / "qanagat-open-data"):
        try:
            candidate.mkdir(parents=True, exist_ok=True)
            probe = candidate / ".probe"
            probe.write_bytes(b"")
            probe.unlink()
            return candidate
        except OSError:
            continue
    raise OSError(f"no writable folder for the open-data packages ({wanted})")


async def listing(state: OpenData) -> list[Listed]:
    """The packages, newest first (remembered for LIST_SECONDS)."""
    now = time.monotonic()
    if state.listed is not None and now - state.listed[0] < LIST_SECONDS:
        return state.listed[1]
    async with state.sessions() as session:
        periods = await package_periods(session)
        runs: dict[str, int] = {}
        for run in await published_score_runs(session):
            runs[run.period] = runs.get(run.period, 0) + 1
    found = [
        Listed(p.name, _kind(p), runs.get(p.name, 0), f"/results/data/{package_name(p.name)}.zip")
        for p in periods
    ]
    state.listed = (now, found)
    return found


def render(lang: str, packages: list[Listed]) -> str:
    words = messages()

    def t(key: str, **values: Any) -> Markup:
        text = escape(words[key].get(lang) or words[key]["en"])
        # the standard's own name is English in every language, and marked so
        return text.format(standard=STANDARD, **values)

    return _template().render(
        lang=lang,
        t=t,
        languages=LANGUAGE_NAMES,
        minimum=disclosure_rule().minimum_cell,
        packages=packages,
    )


async def data_page(request: web.Request) -> web.Response:
    lang = language_of(request)
    packages = await listing(request.app[OPEN_DATA])
    response = web.Response(text=render(lang, packages), content_type="text/html")
    response.headers["Cache-Control"] = PAGE_CACHE_CONTROL
    response.headers["Vary"] = "Accept-Language, Cookie"
    response.headers["Content-Language"] = lang
    response.headers["Content-Security-Policy"] = PAGE_CSP
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _not_found(request: web.Request) -> web.Response:
    lang = language_of(request)
    text = messages()["not_found"][lang]
    return web.Response(
        status=404,
        text=text,
        content_type="text/plain",
        headers={"Content-Security-Policy": FILE_CSP},
    )


async def package_file(state: OpenData, period: Period) -> tuple[Path, str]:
    """The zip of `period` for the current state of its data, built if not kept yet."""
    async with state.sessions() as session:
        digest = (await fingerprint(session, period))[:16]
    name = package_name(period.name)
    if state.cache_dir is None:
        state.cache_dir = await asyncio.to_thread(usable_cache_dir, state.wanted_dir)
    cache_dir = state.cache_dir
    target = cache_dir / f"{name}-{digest}.zip"
    if await asyncio.to_thread(target.exists):
        return target, digest
    if state.lock is None:
        state.lock = asyncio.Lock()
    async with state.lock:  # one build at a time: a crawler cannot start a hundred
        if await asyncio.to_thread(target.exists):
            return target, digest
        async with state.sessions() as session:
            data = await gather(session, period)
        build = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="build-", dir=cache_dir))
        try:
            folder = await asyncio.to_thread(write_package, data, build)
            await asyncio.to_thread(zip_package, folder, target)
        finally:
            await asyncio.to_thread(_remove, build)
        await asyncio.to_thread(_forget_others, cache_dir, name, target)
    return target, digest


def _forget_others(cache_dir: Path, name: str, kept: Path) -> None:
    """Remove the period's packages of an earlier state of its data."""
    for old in cache_dir.glob(f"{name}-*.zip"):
        if old != kept:
            old.unlink(missing_ok=True)


def _remove(folder: Path) -> None:
    for path in sorted(folder.rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    folder.rmdir()


async def download(request: web.Request) -> web.StreamResponse:
    state = request.app[OPEN_DATA]
    name = request.match_info["name"]
    if not name.startswith("qanagat-"):
        return _not_found(request)
    try:
        period = parse_period(name.removeprefix("qanagat-").upper())
    except PeriodError:
        return _not_found(request)
    if period.name not in {item.period for item in await listing(state)}:
        return _not_found(request)
    path, _digest = await package_file(state, period)
    headers: Mapping[str, str] = {
        "Cache-Control": ZIP_CACHE_CONTROL,
        "Content-Type": "application/zip",
        "Content-Security-Policy": FILE_CSP,
        "Content-Disposition": f'attachment; filename="{package_name(period.name)}.zip"',
    }
    # FileResponse answers If-None-Match / If-Modified-Since itself (ETag of the kept file)
    return web.FileResponse(path, headers=headers)


def setup_open_data(
    app: web.Application, *, session_factory: async_sessionmaker[AsyncSession], cache_dir: Path
) -> None:
    """Mount /results/data and its downloads on `app` (the composition root calls it)."""
    app[OPEN_DATA] = OpenData(session_factory, cache_dir)
    app.router.add_get("/results/data", data_page)
    app.router.add_get("/results/data/{name:[a-z0-9-]{1,40}}.zip", download)
