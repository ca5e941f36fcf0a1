"""Stored score runs as staff manage them from the ranking: "compute now" (admins; refuses a
period that would evaluate no body, storing nothing), drawing the rank ranges of a period's
runs (analysts and admins), deleting a run after a confirmation (admins), and publishing a run
on the public results pages or withdrawing it, after a confirmation that names the run
(admins, who alone compute; computing never publishes). Each is a POST with CSRF and is
audited; the ranking page shows the outcome."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web
from sqlalchemy.exc import IntegrityError

from admin import standings
from admin.audit import Action
from admin.standings import PUBLISHED
from admin.web import words
from admin.web.access import ADMINS, READERS, add_route, allow
from admin.web.forms import ROW_ID_MAX
from admin.web.keys import audit, config_of, lang_of, signed_in
from admin.web.render import message_page, page, redirect, url_for
from core.clock import reporting_day
from core.models import ScoreRun
from core.periods import Period, PeriodError, parse_period
from core.score_runs import publish_score_run, withdraw_score_run


def setup(app: web.Application) -> None:
    add_route(app, "POST", "/ranking/compute", compute_now, name="ranking_compute")
    add_route(app, "POST", "/ranking/ranges", draw_ranges, name="ranking_ranges")
    add_route(app, "GET", "/ranking/runs/{run}/delete", delete_run_page, name="score_run_delete")
    add_route(app, "POST", "/ranking/runs/{run}/delete", delete_run, name="score_run_deleted")
    add_route(app, "GET", "/ranking/runs/{run}/publish", publish_page, name="score_run_publish")
    add_route(app, "POST", "/ranking/runs/{run}/publish", publish_run, name="score_run_published")
    add_route(app, "POST", "/ranking/runs/{run}/withdraw", withdraw_run, name="score_run_withdrawn")


@allow(ADMINS)
async def compute_now(request: web.Request) -> web.StreamResponse:
    """Score the period under both methodologies and store the runs (audited). A period giving
    no agency a total stores nothing, says why, and never becomes the period pages open on."""
    config = config_of(request)
    lang = lang_of(request)
    text = (await request.post()).get("period")
    period = _period_or_this_year(text if isinstance(text, str) else "", config.clock())
    if config.scorer is None:
        return message_page(request, "compute_unavailable", 409)
    async with config.session_factory() as db:
        runs = await config.scorer(db, period)
        stored = [run.run_id for run in runs if run.run_id is not None]
        gaps = await standings.period_gaps(db, stored)
        if not runs or gaps is not None:
            await db.rollback()
            return page(
                request,
                "message.html",
                {
                    "heading": words.say("compute_refused", lang),
                    "message": _refusal(period.name, gaps if runs else None, lang),
                },
                status=409,
            )
        audit(
            request,
            db,
            Action.SCORES_COMPUTED,
            {
                "period": period.name,
                "runs": stored,
                "methodologies": [run.methodology.name for run in runs],
            },
        )
        await db.commit()
    return redirect(url_for(request, "ranking", {"period": period.name, "computed": "yes"}))


def _period_or_this_year(text: str, now: datetime) -> Period:
    try:
        return parse_period(text)
    except PeriodError:
        return parse_period(str(reporting_day(now).year))


def _refusal(period: str, gaps: standings.Gaps | None, lang: str) -> str:
    """Why nothing was stored: nothing to score, or no agency got a total (and what was missing)."""
    if gaps is None:
        return words.say("ranking_nothing_to_compute", lang, period=period)
    nodes = standings.methodology(PUBLISHED[0]).nodes
    return words.say(
        "ranking_no_totals",
        lang,
        period=period,
        blocks=", ".join(nodes[key].label[lang] for key in gaps.blocks if key in nodes) or "—",
        names=", ".join(gaps.inputs) or "—",
    )


@allow(READERS)
async def draw_ranges(request: web.Request) -> web.StreamResponse:
    """Draw the rank ranges of the period's shown runs that have none yet (about 5 s a run),
    store them with the runs (audited) and show the ranking again."""
    config = config_of(request)
    form = await request.post()
    text = form.get("period")
    try:
        period = parse_period(text if isinstance(text, str) else "").name
    except PeriodError:
        return message_page(request, "period_unknown", 400)
    drawn: list[int] = []
    not_kept: list[int] = []
    async with config.session_factory() as db:
        runs = (await standings.stored_runs(db, config.runs)).latest(period)
        have = await standings.rank_ranges(db, runs, config.runs)
        for name, run in runs.items():
            if run is None or have.get(name):
                continue
            async with config.runs.drawing:
                done = await standings.draw_rank_ranges(db, run, config.clock(), standings.DRAWS)
            (drawn if done else not_kept).append(run.id)
        if drawn:
            audit(
                request,
                db,
                Action.RANK_RANGES_DRAWN,
                {"period": period, "runs": drawn, "draws": standings.DRAWS},
            )
        try:
            await db.commit()
        except IntegrityError:  # another reader drew them at the same moment: theirs stand
            await db.rollback()
    outcome = "not_kept" if not_kept and not drawn else "yes"
    return redirect(url_for(request, "ranking", {"period": period, "drawn": outcome}))


@allow(ADMINS)
async def delete_run_page(request: web.Request) -> web.StreamResponse:
    """What deleting a stored run would remove, and the form that confirms it."""
    run = await _asked_run(request)
    if run is None:
        return message_page(request, "run_not_found", 404)
    async with config_of(request).session_factory() as db:
        stored = await standings.stored_runs(db, config_of(request).runs)
    newest = stored.latest(run.period).get(run.methodology) == run
    return page(request, "run_delete.html", {"run": run, "newest": newest})


@allow(ADMINS)
async def delete_run(request: web.Request) -> web.StreamResponse:
    """Delete a stored run and its values, audited with everything that identified it."""
    config = config_of(request)
    run = await _asked_run(request)
    if run is None:
        return message_page(request, "run_not_found", 404)
    async with config.session_factory() as db:
        await standings.delete_run(db, run.id)
        audit(
            request,
            db,
            Action.SCORE_RUN_DELETED,
            {
                "run": run.id,
                "period": run.period,
                "methodology": run.methodology,
                "version": run.version,
                "hash": run.hash,
                "computed_at": run.computed_at.isoformat(),
            },
        )
        await db.commit()
    return redirect(url_for(request, "ranking", {"period": run.period, "deleted": run.id}))


@allow(ADMINS)
async def publish_page(request: web.Request) -> web.StreamResponse:
    """What publishing (or withdrawing) a run would do, naming the run, and the form that
    confirms it: nothing is published by a link or by computing."""
    run = await _asked_run(request)
    if run is None:
        return message_page(request, "run_not_found", 404)
    async with config_of(request).session_factory() as db:
        stored = await standings.stored_runs(db, config_of(request).runs)
    replaces = [
        other
        for other in stored.every.get(run.period, [])
        if other.methodology == run.methodology and other.published_at and other.id != run.id
    ]
    return page(
        request,
        "run_publish.html",
        {"run": run, "replaces": replaces[0] if replaces else None},
    )


@allow(ADMINS)
async def publish_run(request: web.Request) -> web.StreamResponse:
    """Publish a run (the run of its methodology and period published before it is withdrawn),
    audited with what identifies it and what it replaced."""
    viewer = signed_in(request)
    config = config_of(request)
    run_id = _run_id(request)
    async with config.session_factory() as db:
        run = await db.get(ScoreRun, run_id) if run_id is not None else None
        if run is None:
            return message_page(request, "run_not_found", 404)
        superseded = await publish_score_run(db, run, by=viewer.email)
        audit(
            request,
            db,
            Action.SCORE_RUN_PUBLISHED,
            {**_identity(run), "withdrawn": [earlier.id for earlier in superseded]},
        )
        await db.commit()
        period, published = run.period, run.id
    return redirect(url_for(request, "ranking", {"period": period, "published": published}))


@allow(ADMINS)
async def withdraw_run(request: web.Request) -> web.StreamResponse:
    """Take a published run off the public pages and out of the open data (audited)."""
    config = config_of(request)
    run_id = _run_id(request)
    async with config.session_factory() as db:
        run = await db.get(ScoreRun, run_id) if run_id is not None else None
        if run is None:
            return message_page(request, "run_not_found", 404)
        was_published = run.published_at is not None
        withdraw_score_run(run)
        if was_published:
            audit(request, db, Action.SCORE_RUN_WITHDRAWN, _identity(run))
        await db.commit()
        period, withdrawn = run.period, run.id
    return redirect(url_for(request, "ranking", {"period": period, "withdrawn": withdrawn}))


def _identity(run: ScoreRun) -> dict[str, object]:
    return {
        "run": run.id,
        "period": run.period,
        "methodology": run.methodology,
        "version": run.methodology_version,
        "hash": run.methodology_hash,
        "computed_at": run.created_at.isoformat(),
    }


def _run_id(request: web.Request) -> int | None:
    text = request.match_info["run"]
    # a run id beyond the database's integer column names no run (PostgreSQL would refuse it)
    if not text.isascii() or not text.isdigit() or len(text) > 10 or int(text) > ROW_ID_MAX:
        return None
    return int(text)


async def _asked_run(request: web.Request) -> standings.RunInfo | None:
    text = request.match_info["run"]
    # a run id beyond the database's integer column names no run (PostgreSQL would refuse it)
    if not text.isascii() or not text.isdigit() or len(text) > 10 or int(text) > ROW_ID_MAX:
        return None
    async with config_of(request).session_factory() as db:
        return await standings.stored_run(db, int(text))
