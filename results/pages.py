"""The public results pages, open to everyone, no sign-in:

    GET /results                           the whole country: regions and agencies
    GET /results/regions/{code}            a region: its agencies and offices
    GET /results/agencies/{code}           an agency: published scores, notes, services, offices
    GET /results/services/{code}           a service: its offices
    GET /results/offices/{code}            an office: its services, its agency's notes

Each takes `?year=YYYY` (default: the newest year with responses) and `?lang=kk|ru|en`
(default: the citizen pages' language cookie, then Accept-Language, then Kazakh).

Cheap on purpose, since a crawler can reach them: the rendered pages are kept in this
process. What a page depends on (the rollup revision, the published runs, the approved notes,
the names of places) is read at most every `refresh_seconds`; a page of a closed year is kept
until that changes, a page of the open year at most `refresh_seconds`. Every response carries
Cache-Control and an ETag (a matching If-None-Match gets 304); concurrent misses of one page
build it once. Unknown codes are refused from the names in memory, without a query."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import jinja2
import pandas as pd
from aiohttp import web
from babel.dates import format_date
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.change_notes import notes_version, public_notes
from core.clock import reporting_day, utcnow
from core.language import by_name, moment, number
from core.models import Agency, ChangeNote, PublicService, ScoreRun, ServicePoint
from core.rollups import first_open_day, rollup_revision
from results import words
from results.disclosure import disclosure_rule
from results.figures import (
    Figures,
    Level,
    Place,
    Row,
    Share,
    YearSums,
    load_counts,
    place_figures,
    place_rows,
    with_regions,
    years_with_data,
)
from results.scores import PublishedScores, ScoreMemory, published_scores

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
MOUNT = "/results"
CSS_PATH = f"{MOUNT}/static/results.css"
REFRESH_SECONDS = 120.0
STALE_FACTOR = 5  # what is this many refreshes old is read again before it is served
MAX_PAGES = 4096  # rendered pages kept (places × years × languages); the least used go first
CLOSED_MAX_AGE = 3600
CSP = "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'"
CODE_MAX = 64
CSS_VERSION = hashlib.sha256((HERE / "static" / "results.css").read_bytes()).hexdigest()[:10]


@dataclass(frozen=True)
class Named:
    id: int
    code: str
    names: Mapping[str, str]
    agency_id: int | None = None
    region: str | None = None

    def name(self, lang: str) -> str:
        return self.names.get(lang) or self.names.get("ru") or self.code


@dataclass(frozen=True)
class Directory:
    """The places' names and codes, read with the public state."""

    agencies: Mapping[str, Named]
    services: Mapping[str, Named]
    offices: Mapping[str, Named]
    agency_ids: Mapping[int, Named]
    service_ids: Mapping[int, Named]
    office_ids: Mapping[int, Named]
    regions: frozenset[str]
    years: tuple[int, ...]

    def office_regions(self) -> dict[int, str]:
        return {o.id: o.region for o in self.office_ids.values() if o.region}

    def agency_regions(self) -> dict[int, str]:
        return {a.id: a.region for a in self.agency_ids.values() if a.region}


@dataclass(frozen=True)
class State:
    """What the pages depend on besides the rollups of the open year."""

    revision: int
    published: tuple[int, ...]
    notes: tuple[int, int]
    directory: Directory = field(compare=False)


@dataclass
class Cached:
    body: bytes
    etag: str
    state: State
    made: float
    closed: bool


class PublicResults:
    """The pages' memory: the state, read at most every `refresh_seconds`, and rendered pages."""

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        refresh_seconds: float = REFRESH_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.session_factory = session_factory
        self.refresh_seconds = refresh_seconds
        self.clock = clock
        self.pages: OrderedDict[tuple[Any, ...], Cached] = OrderedDict()
        self._state: State | None = None
        self._state_read = 0.0
        self._state_lock = asyncio.Lock()
        self._building: dict[tuple[Any, ...], asyncio.Future[Cached]] = {}
        # year -> the counters of its closed months (under the state and last month read)
        self._closed: dict[int, tuple[State, str, pd.DataFrame]] = {}
        # year -> (when, state, first open month, closed year?, its sums)
        self._sums: dict[int, tuple[float, State, str, bool, YearSums]] = {}
        self._counts_lock = asyncio.Lock()
        self._tasks: dict[str, asyncio.Future[Any]] = {}
        self.scores = ScoreMemory()
        self.templates = jinja2.Environment(
            loader=jinja2.FileSystemLoader(HERE / "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
        )

    def _stale_ok(self, age: float) -> bool:
        """Whether something `age` seconds old may still be served while it is read again in
        the background: up to STALE_FACTOR refreshes old (never when refresh_seconds is 0)."""
        return age < self.refresh_seconds * STALE_FACTOR

    def _in_background(self, name: str, work: Awaitable[Any]) -> None:
        if name in self._tasks:  # already being read: this one is not needed
            if asyncio.iscoroutine(work):
                work.close()
            return
        task = asyncio.ensure_future(work)
        self._tasks[name] = task

        def done(finished: asyncio.Future[Any]) -> None:
            self._tasks.pop(name, None)
            if not finished.cancelled() and finished.exception() is not None:
                log.warning("results: refreshing %s failed", name, exc_info=finished.exception())

        task.add_done_callback(done)

    async def state(self) -> State:
        """What the pages depend on; read again once it is `refresh_seconds` old, in the
        background while the one known is recent enough (requests never wait on it then)."""
        age = self.clock() - self._state_read
        if self._state is not None and age < self.refresh_seconds:
            return self._state
        if self._state is not None and self._stale_ok(age):
            self._in_background("state", self._read_state())
            return self._state
        await self._read_state()
        assert self._state is not None
        return self._state

    async def _read_state(self) -> None:
        async with self._state_lock:
            if self._state is not None and self.clock() - self._state_read < self.refresh_seconds:
                return
            async with self.session_factory() as session:
                self._state = await read_state(session)
            self._state_read = self.clock()

    async def sums(self, year: int, state: State) -> YearSums:
        """The year's sums (results.figures.YearSums): its closed months are read once and kept
        until the state changes; its open months (from yesterday's on) are read again once
        they are `refresh_seconds` old. Never stale: a page is rendered from current sums
        (while its earlier rendering is served, see `page`)."""
        first_open = first_open_day().isoformat()[:7]
        known = self._sums.get(year)
        if known is not None:
            made, of_state, of_first_open, closed, summed = known
            current = of_state == state and of_first_open == first_open
            if current and (closed or self.clock() - made < self.refresh_seconds):
                return summed
        return await self._read_sums(year, state, first_open)

    async def _read_sums(self, year: int, state: State, first_open: str) -> YearSums:
        async with self._counts_lock:
            known = self._sums.get(year)
            if (
                known is not None
                and known[1] == state
                and known[2] == first_open
                and (known[3] or self.clock() - known[0] < self.refresh_seconds)
            ):
                return known[4]
            closed_until = min(f"{year:04d}-12", _month_before(first_open))
            closed = closed_until == f"{year:04d}-12"
            kept = self._closed.get(year)
            if kept is None or kept[0] != state or kept[1] != closed_until:
                async with self.session_factory() as session:
                    frame = await load_counts(session, f"{year:04d}-01", closed_until)
                kept = (state, closed_until, self._regions(frame, state))
                self._closed[year] = kept
            frame = kept[2]
            if not closed:
                async with self.session_factory() as session:
                    recent = await load_counts(session, first_open, f"{year:04d}-12")
                frame = pd.concat([frame, self._regions(recent, state)], ignore_index=True)
            summed = await asyncio.to_thread(YearSums, frame)
            self._sums[year] = (self.clock(), state, first_open, closed, summed)
            return summed

    async def warm(self) -> None:
        """Read the state and the two newest years' sums (the open and the last closed)."""
        try:
            state = await self.state()
            for year in state.directory.years[:2]:
                await self.sums(year, state)
        except Exception:  # the database may not be there yet; the first visitor reads
            log.warning("results warm-up failed", exc_info=True)

    @staticmethod
    def _regions(frame: pd.DataFrame, state: State) -> pd.DataFrame:
        directory = state.directory
        return with_regions(frame, directory.office_regions(), directory.agency_regions())

    async def page(
        self,
        key: tuple[Any, ...],
        closed: bool,
        build: Callable[[AsyncSession, State], Awaitable[str]],
    ) -> Cached:
        state = await self.state()
        found = self.pages.get(key)
        now = self.clock()
        if found is not None and (
            found.state == state and (found.closed or now - found.made < self.refresh_seconds)
        ):
            self.pages.move_to_end(key)
            return found
        if found is not None and key not in self._building and self._stale_ok(now - found.made):
            # served as it was while it is rendered again (a few seconds late at most)
            self._in_background(f"page {key}", self._build(key, closed, build, state))
            return found
        return await self._build(key, closed, build, state)

    async def _build(
        self,
        key: tuple[Any, ...],
        closed: bool,
        build: Callable[[AsyncSession, State], Awaitable[str]],
        state: State,
    ) -> Cached:
        waiting = self._building.get(key)
        if waiting is not None:
            return await asyncio.shield(waiting)
        future: asyncio.Future[Cached] = asyncio.get_running_loop().create_future()
        self._building[key] = future
        try:
            async with self.session_factory() as session:
                html = await build(session, state)
            body = html.encode("utf-8")
            etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
            made = Cached(body, etag, state, self.clock(), closed)
            self.pages[key] = made
            self.pages.move_to_end(key)
            while len(self.pages) > MAX_PAGES:
                self.pages.popitem(last=False)
            future.set_result(made)
            return made
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # retrieved: waiters get it, nobody else has to
            raise
        finally:
            del self._building[key]


RESULTS = web.AppKey("qanagat_results", PublicResults)


def _month_before(month: str) -> str:
    year, number = int(month[:4]), int(month[5:7])
    return f"{year - 1:04d}-12" if number == 1 else f"{year:04d}-{number - 1:02d}"


async def read_state(session: AsyncSession) -> State:
    published = tuple(
        sorted(await session.scalars(select(ScoreRun.id).where(ScoreRun.published_at.is_not(None))))
    )
    agencies = [
        Named(a.id, a.code, _names(a), region=a.region)
        for a in await session.scalars(select(Agency))
    ]
    services = [
        Named(s.id, s.code, _names(s), agency_id=s.agency_id)
        for s in await session.scalars(select(PublicService))
    ]
    offices = [
        Named(o.id, o.code, _names(o), agency_id=o.agency_id, region=o.region)
        for o in await session.scalars(select(ServicePoint))
    ]
    regions = frozenset(item.region for item in (*agencies, *offices) if item.region is not None)
    directory = Directory(
        {a.code: a for a in agencies},
        {s.code: s for s in services},
        {o.code: o for o in offices},
        {a.id: a for a in agencies},
        {s.id: s for s in services},
        {o.id: o for o in offices},
        regions,
        tuple(await years_with_data(session)),
    )
    return State(await rollup_revision(session), published, await notes_version(session), directory)


def _names(item: Agency | PublicService | ServicePoint) -> dict[str, str]:
    return {"kk": item.name_kk, "ru": item.name_ru, "en": item.name_en}


# Words and numbers -------------------------------------------------------------------------


def percent(value: float, lang: str) -> str:
    return f"{number(value * 100, lang, 1)} %"


def share_text(share: Share, lang: str) -> str:
    if share.share is None or share.low is None or share.high is None or share.n is None:
        return words.say("not_enough_short", lang)
    return words.say(
        "share_with_interval",
        lang,
        share=percent(share.share, lang),
        low=percent(share.low, lang),
        high=percent(share.high, lang),
        n=number(share.n, lang, 0),
    )


def count_text(count: int | None, lang: str) -> str:
    if count is None:
        return words.say("responses_few", lang, minimum=number(minimum_cell(), lang, 0))
    return number(count, lang, 0)


def minimum_cell() -> int:
    return disclosure_rule().minimum_cell


def month_label(month: str, lang: str) -> str:
    year, _, number_of_month = month.partition("-")
    return str(format_date(date(int(year), int(number_of_month), 1), "LLLL y", locale=lang))


def figures_view(figures: Figures, lang: str) -> dict[str, Any]:
    satisfied = figures.satisfied
    return {
        "satisfied": words.say(
            "interval_n",
            lang,
            low=percent(satisfied.low, lang),
            high=percent(satisfied.high, lang),
            n=number(satisfied.n, lang, 0),
        )
        if satisfied.low is not None and satisfied.high is not None and satisfied.n is not None
        else "",
        "satisfied_share": percent(satisfied.share, lang) if satisfied.share is not None else "",
        "responses": count_text(figures.responses, lang),
        "defects": [
            (words.say(f"defect_{name}", lang), share_text(share, lang))
            for name, share in figures.defects
        ],
        "months": [
            {
                "label": month_label(month.month, lang),
                "share": percent(month.satisfied.share, lang)
                if month.satisfied.share is not None
                else "",
                "percent": f"{month.satisfied.share * 100:.1f}"
                if month.satisfied.share is not None
                else "",
                "interval": f"{percent(month.satisfied.low, lang)}–"
                f"{percent(month.satisfied.high, lang)}"
                if month.satisfied.low is not None and month.satisfied.high is not None
                else "",
                "n": number(month.satisfied.n, lang, 0) if month.satisfied.n is not None else "",
            }
            for month in figures.months
        ],
    }


def scores_view(found: list[PublishedScores], lang: str) -> list[dict[str, Any]]:
    return [
        {
            "title": run.title,
            "period_text": words.say("score_period", lang, period=run.period, version=run.version),
            "ranks": words.say("rank_range", lang, low=run.rank_low, high=run.rank_high)
            if run.rank_low is not None and run.rank_high is not None
            else "",
            "lines": [
                {
                    "depth": line.depth,
                    "label": line.label,
                    "value": words.say("value_hidden", lang)
                    if line.hidden
                    else number(line.value, lang, 2)
                    if line.value is not None
                    else words.say("value_none", lang),
                    "grade": words.say(f"grade_{line.grade}", lang)
                    if line.grade in ("high", "medium", "low", "ineffective")
                    else "",
                    "formula": line.formula,
                    "inputs": line.inputs,
                    "reason": line.reason,
                }
                for line in run.lines
            ],
        }
        for run in found
    ]


def notes_view(notes: list[ChangeNote], directory: Directory, lang: str) -> list[dict[str, Any]]:
    shown = []
    for note in notes:
        written = next(
            ((code, text) for code in (lang, "kk", "ru", "en") if (text := note.text(code))),
            None,
        )
        if written is None:
            continue
        office = directory.office_ids.get(note.service_point_id or 0)
        shown.append(
            {
                "lang": written[0],
                "text": written[1],
                "when": moment(note.reviewed_at or note.written_at, lang).split(",")[0],
                "office": office.name(lang) if office is not None else "",
            }
        )
    return shown


# Addresses -----------------------------------------------------------------------------------


def results_path(level: Level, code: str | None = None) -> str:
    if level is Level.NATIONAL or code is None:
        return MOUNT
    folder = {
        Level.REGION: "regions",
        Level.AGENCY: "agencies",
        Level.SERVICE: "services",
        Level.OFFICE: "offices",
    }[level]
    return f"{MOUNT}/{folder}/{quote(code, safe='')}"


def with_query(path: str, lang: str, year: int | None) -> str:
    query = {"lang": lang, **({"year": str(year)} if year is not None else {})}
    return f"{path}?{urlencode(query)}"


# Handlers ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Asked:
    level: Level
    code: str | None
    lang: str
    year: int | None  # as asked (None: the default year)


def _asked(request: web.Request, level: Level) -> Asked:
    lang = words.reader_language(
        request.query, request.cookies, request.headers.get("Accept-Language", "")
    )
    text = request.query.get("year", "")
    year = int(text) if len(text) == 4 and text.isascii() and text.isdigit() else None
    code = request.match_info.get("code")
    return Asked(level, code, lang, year)


def _known(asked: Asked, directory: Directory) -> Named | str | None:
    code = asked.code
    if asked.level is Level.NATIONAL:
        return ""
    if code is None or len(code) > CODE_MAX:
        return None
    if asked.level is Level.REGION:
        return code if code in directory.regions else None
    table = {
        Level.AGENCY: directory.agencies,
        Level.SERVICE: directory.services,
        Level.OFFICE: directory.offices,
    }[asked.level]
    return table.get(code)


def _respond(request: web.Request, cached: Cached, closed: bool) -> web.StreamResponse:
    headers = {
        "Cache-Control": f"public, max-age={CLOSED_MAX_AGE if closed else 60}",
        "ETag": cached.etag,
        "Vary": "Accept-Language, Cookie",
        "Content-Security-Policy": CSP,
        "Referrer-Policy": "no-referrer",
    }
    if cached.etag in request.headers.get("If-None-Match", ""):
        return web.Response(status=304, headers=headers)
    return web.Response(
        body=cached.body, content_type="text/html", charset="utf-8", headers=headers
    )


def _handler(level: Level) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        results = request.app[RESULTS]
        asked = _asked(request, level)
        state = await results.state()
        place = _known(asked, state.directory)
        if place is None:
            return _not_found(request, results, asked)
        current = reporting_day(utcnow()).year
        years = state.directory.years
        year = asked.year if asked.year in years else (years[0] if years else current)
        closed = year < current
        key = (level, asked.code, asked.lang, year)

        async def build(session: AsyncSession, state: State) -> str:
            return await render_place(results, session, state, asked, place, year, current)

        cached = await results.page(key, closed, build)
        return _respond(request, cached, closed)

    return handle


def _not_found(request: web.Request, results: PublicResults, asked: Asked) -> web.Response:
    lang = asked.lang
    html = results.templates.get_template("message.html").render(
        **_base(lang, MOUNT, None),
        title=words.say("not_found_title", lang),
        message=words.say("not_found", lang),
    )
    return web.Response(
        text=html,
        content_type="text/html",
        status=404,
        headers={"Content-Security-Policy": CSP, "Cache-Control": "no-store"},
    )


def _base(lang: str, path: str, year: int | None) -> dict[str, Any]:
    return {
        "lang": lang,
        "t": lambda key, **params: words.say(key, lang, **params),
        "css": f"{CSS_PATH}?v={CSS_VERSION}",
        "home": with_query(MOUNT, lang, None),
        "minimum": number(minimum_cell(), lang, 0),
        "languages": [
            {
                "code": code,
                "name": name,
                "url": with_query(path, code, year),
                "current": code == lang,
            }
            for code, name in words.LANGUAGE_NAMES.items()
        ],
    }


async def render_place(
    results: PublicResults,
    session: AsyncSession,
    state: State,
    asked: Asked,
    place: Named | str,
    year: int,
    current: int,
) -> str:
    """The page of one place for one year, in the reader's language."""
    lang, level, directory = asked.lang, asked.level, state.directory
    path = results_path(level, asked.code)
    year_query = year if asked.year is not None else None
    crumbs: list[tuple[str, str]] = []
    lists: list[dict[str, Any]] = []
    scores = notes = None
    lead = ""

    def link(of: Level, code: str) -> str:
        return with_query(results_path(of, code), lang, year_query)

    def rows(found: list[Row], of: Level) -> list[dict[str, Any]]:
        shown = []
        for row in found:
            if of is Level.REGION:
                code, name = str(row.key), words.region_name(str(row.key), lang)
            else:
                ids = {
                    Level.AGENCY: directory.agency_ids,
                    Level.SERVICE: directory.service_ids,
                    Level.OFFICE: directory.office_ids,
                }[of]
                named = ids.get(int(row.key))
                if named is None:
                    continue
                code, name = named.code, named.name(lang)
            shown.append(
                {
                    "name": name,
                    "url": link(of, code),
                    "share": percent(row.satisfied.share, lang)
                    if row.satisfied.share is not None
                    else words.say("not_enough_short", lang),
                    "responses": count_text(row.responses, lang),
                }
            )
        return by_name(shown, lambda item: str(item["name"]), lang)

    sums = await results.sums(year, state)

    async def listed(inside: Place, of: Level, title: str) -> None:
        found = place_rows(sums, inside, of)
        lists.append({"title": words.say(title, lang), "rows": rows(found, of)})

    national = with_query(MOUNT, lang, year_query)
    if level is Level.NATIONAL:
        target = Place(Level.NATIONAL)
        title, kind = words.say("national_title", lang), words.say("nav_national", lang)
        lead = words.say("national_lead", lang)
        await listed(target, Level.REGION, "regions_title")
        await listed(target, Level.AGENCY, "agencies_title")
    elif level is Level.REGION:
        assert isinstance(place, str)
        target = Place(Level.REGION, place)
        title, kind = words.region_name(place, lang), words.say("kind_region", lang)
        crumbs.append((words.say("nav_national", lang), national))
        await listed(target, Level.AGENCY, "agencies_title")
        await listed(target, Level.OFFICE, "offices_title")
    else:
        assert isinstance(place, Named)
        target = Place(level, place.id)
        title = place.name(lang)
        crumbs.append((words.say("nav_national", lang), national))
        agency = directory.agency_ids.get(place.agency_id or 0)
        if level is Level.AGENCY:
            kind = words.say("kind_agency", lang)
            if place.region:
                crumbs.append(
                    (words.region_name(place.region, lang), link(Level.REGION, place.region))
                )
            row = await session.get(Agency, place.id)
            assert row is not None
            found = await published_scores(session, row, lang, results.scores)
            scores = scores_view(found, lang)
            notes = notes_view(await public_notes(session, place.id), directory, lang)
            await listed(target, Level.SERVICE, "services_title")
            await listed(target, Level.OFFICE, "offices_title")
        elif level is Level.SERVICE:
            kind = words.say("kind_service", lang)
            if agency is not None:
                crumbs.append((agency.name(lang), link(Level.AGENCY, agency.code)))
            await listed(target, Level.OFFICE, "offices_title")
        else:
            kind = words.say("kind_office", lang)
            if agency is not None:
                crumbs.append((agency.name(lang), link(Level.AGENCY, agency.code)))
            if place.region:
                crumbs.append(
                    (words.region_name(place.region, lang), link(Level.REGION, place.region))
                )
            notes = notes_view(
                await public_notes(session, place.agency_id or 0, place.id), directory, lang
            )
            await listed(target, Level.SERVICE, "services_title")
    figures = place_figures(sums, target)
    years = [
        (str(y), with_query(path, lang, y), y == year)
        for y in sorted(directory.years, reverse=True)
    ]
    year_text = words.say("year_closed" if year < current else "year_open", lang, year=year)
    return results.templates.get_template("place.html").render(
        **_base(lang, path, year_query),
        title=title,
        kind_label=kind,
        lead=lead,
        crumbs=crumbs,
        years=years if len(years) > 1 else [],
        year_text=year_text,
        figures=figures_view(figures, lang),
        lists=lists,
        scores=scores,
        notes=notes,
    )


async def stylesheet(_request: web.Request) -> web.StreamResponse:
    response = web.FileResponse(HERE / "static" / "results.css")
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


def setup_results(
    app: web.Application,
    session_factory: async_sessionmaker[AsyncSession],
    refresh_seconds: float = REFRESH_SECONDS,
    clock: Callable[[], float] = time.monotonic,
) -> PublicResults:
    """Mount the public results pages on `app` (the composition calls it once)."""
    missing = words.problems()
    if missing:
        raise RuntimeError("; ".join(missing))
    results = PublicResults(session_factory, refresh_seconds, clock)
    app[RESULTS] = results
    for path, level in (
        (MOUNT, Level.NATIONAL),
        (f"{MOUNT}/regions/{{code}}", Level.REGION),
        (f"{MOUNT}/agencies/{{code}}", Level.AGENCY),
        (f"{MOUNT}/services/{{code}}", Level.SERVICE),
        (f"{MOUNT}/offices/{{code}}", Level.OFFICE),
    ):
        app.router.add_get(path, _handler(level))
    app.router.add_get(CSS_PATH, stylesheet)

    async def warm(_app: web.Application) -> AsyncIterator[None]:
        # the newest years' sums read before the first visitor asks (a failure here only
        # means the first page reads them)
        task = asyncio.create_task(results.warm(), name="results warm-up")
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task

    app.cleanup_ctx.append(warm)
    return results
