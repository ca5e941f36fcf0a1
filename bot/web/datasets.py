"""Rating an open data set on the mobile page: find it (agency, then part of its title), open its
page (also where a data set's QR code or link leads), then the feedback survey one question per
page, as the service survey. No JavaScript; every form is POST/redirect/GET; the visitor is the
pseudonymous respondent of the signed cookie, like the rest of the web channel.

    GET  /d              find: the agencies and a title search (a GET form: it changes nothing)
    GET  /d/{id}         a data set's page (its external id): what it is and a Start button
    POST /d/{id}         Start: open (or resume) today's rating, redirect to /dr/{ref}
    GET  /dr/{ref}       the current question, or the thank-you (with a filed report: its
                         status, history, the agency's answer and the form to rate it)
    POST /dr/{ref}       answer (or skip) the current question, redirect to GET /dr/{ref}
    POST /dr/{ref}/report  rate the agency's answer to the report, back to GET /dr/{ref}
"""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import quote, urlencode

from aiohttp import web

from bot.datasets import DatasetDesk
from bot.engine.flow import Ask, InvalidAnswer, questions_to_ask
from bot.web.complaints import complaint_case, rate_from_form
from bot.web.keys import SEALS_KEY, SETTINGS_KEY, UNITS_KEY, Seals
from bot.web.origin import client_network
from bot.web.pages import (
    FormProblem,
    Handler,
    guarded,
    in_language,
    message_page,
    page,
    read_form,
    redirect,
    say,
    wrong_method,
)
from bot.web.survey import raw_answer, render_question
from bot.web.visits import (
    Visit,
    apply_language,
    csrf_token,
    read_refusal,
    refusal_param,
    unsign,
    visit_of,
)
from core.dataset_ratings import DatasetRefused
from core.integrity.flags import network_digest
from core.language import by_name
from core.models import Dataset, DatasetRating, RatingStatus, Respondent
from core.unit_of_work import UnitOfWork

DATASETS_KEY = web.AppKey("qanagat_web_datasets", DatasetDesk)
MAX_TYPED = 200
BROWSE_LIMIT = 300  # an agency publishes hundreds of sets at most: all of them, on one page
MIN_TYPED = 2
REF_PREFIX = "ds"  # a rating's ref signs "ds<id>": a response's ref never opens a rating
REFUSAL_STATUS = {
    "dataset_unknown": 404,
    "web_dataset_link_stale": 404,
    "dataset_not_published": 404,
    "dataset_withdrawn": 410,
}


def setup_web_datasets(app: web.Application, desk: DatasetDesk) -> None:
    """Mount the data-set pages next to the survey pages (after `setup_web_channel`)."""
    app[DATASETS_KEY] = desk
    _route(app, "/d", get=find_page)
    _route(app, "/d/{dataset}", get=dataset_page, post=start_rating)
    _route(app, "/dr/{ref}", get=rating_page, post=answer)
    _route(app, "/dr/{ref}/report", get=report_page, post=rate_report)


def _route(
    app: web.Application,
    path: str,
    *,
    get: Handler,
    post: Handler | None = None,
) -> None:
    resource = app.router.add_resource(path)
    resource.add_route("GET", guarded(get))
    resource.add_route("HEAD", guarded(get))
    if post is not None:
        resource.add_route("POST", guarded(post))
    resource.add_route("*", guarded(wrong_method))


def dataset_path(external_id: str) -> str:
    return f"/d/{quote(external_id, safe='')}"


def rating_path(seals: Seals, rating_id: int) -> str:
    return f"/dr/{quote(seals.refs.sign(f'{REF_PREFIX}{rating_id}'), safe='')}"


def rating_id_of(seals: Seals, ref: str) -> int | None:
    value = unsign(seals.refs, ref, limit=64)
    if value is None or not value.startswith(REF_PREFIX):
        return None
    number = value.removeprefix(REF_PREFIX)
    return int(number) if number.isascii() and number.isdigit() else None


def _refused(request: web.Request, visit: Visit, reason: str) -> web.Response:
    shown = "web_dataset_link_stale" if reason == "dataset_link_stale" else reason
    return message_page(request, visit, shown, REFUSAL_STATUS.get(shown, 404), back="/d")


# Finding a data set --------------------------------------------------------------------------


async def find_page(request: web.Request) -> web.StreamResponse:
    """GET /d: pick the agency (sorted by name in the reader's language); its published sets are
    listed at once, and typing part of a title narrows them."""
    visit = visit_of(request)
    lang = visit.lang
    code = request.query.get("agency", "")[:64]
    typed = " ".join(request.query.get("q", "").split())[:MAX_TYPED]
    async with request.app[UNITS_KEY]() as uow:
        await apply_language(uow, visit)
        ratings = uow.dataset_ratings
        agencies = by_name(await ratings.agencies(), lambda agency: agency.name(lang), lang)
        chosen = next((agency for agency in agencies if agency.code == code), None)
        found: list[Dataset] = []
        problem = None
        if chosen is not None:
            if 0 < len(typed) < MIN_TYPED:
                problem = say("dataset_search_short", lang)
            else:
                found = (
                    await ratings.search(chosen.id, typed, limit=BROWSE_LIMIT)
                    if typed
                    else await ratings.published(chosen.id, BROWSE_LIMIT)
                )
                if not found and typed:
                    problem = say(
                        "web_dataset_no_match", lang, {"agency": chosen.name(lang), "typed": typed}
                    )
    if not agencies:
        return message_page(request, visit, "dataset_none_published", 404)
    context = {
        "title": say("web_dataset_title", lang),
        "agencies": [
            {"code": a.code, "name": a.name(lang), "selected": a is chosen} for a in agencies
        ],
        "typed": typed,
        "error": problem,
        "matches": [
            {"title": d.title(lang), "url": dataset_path(d.external_id)}
            for d in by_name(found, lambda dataset: dataset.title(lang), lang)
        ],
    }
    return page(request, visit, "dataset_find.html", context)


async def dataset_page(request: web.Request) -> web.StreamResponse:
    """GET /d/{id}: the set's title, agency and link, and a Start button. Writes nothing."""
    visit = visit_of(request)
    external_id = request.match_info["dataset"]
    async with request.app[UNITS_KEY]() as uow:
        await apply_language(uow, visit)
        found = await uow.dataset_ratings.by_payload(external_id)
    if isinstance(found, DatasetRefused):
        return _refused(request, visit, found.reason)
    definition = request.app[DATASETS_KEY].definition
    lang = visit.lang
    context = {
        "title": in_language(definition.title, lang),
        "dataset": found.title(lang),
        "agency": found.agency.name(lang),
        "url": found.url if found.url.startswith(("https://", "http://")) else None,
        "intro": in_language(definition.intro, lang) if definition.intro else None,
        "action": dataset_path(found.external_id),
        "csrf": csrf_token(request.app[SEALS_KEY], _scope(found.external_id), visit.key),
    }
    return page(request, visit, "dataset_landing.html", context)


def _scope(external_id: str) -> str:
    return f"dataset:{external_id}"


async def start_rating(request: web.Request) -> web.StreamResponse:
    """POST /d/{id}: the Start button; open (or resume) today's rating, go to its question."""
    visit = visit_of(request)
    external_id = request.match_info["dataset"]
    form = await read_form(request, visit, _scope(external_id))
    if isinstance(form, FormProblem):
        return message_page(request, visit, "web_bad_request", 403, back=dataset_path(external_id))
    desk = request.app[DATASETS_KEY]
    async with request.app[UNITS_KEY]() as uow:
        found = await uow.dataset_ratings.by_payload(external_id)
        if isinstance(found, DatasetRefused):
            return _refused(request, visit, found.reason)
        respondent = await uow.responses.respondent(visit.key, visit.lang)
        rating = await desk.start(uow, respondent, found, visit.channel, visit.lang)
    return redirect(request, visit, rating_path(request.app[SEALS_KEY], rating.id))


# The survey ------------------------------------------------------------------------------------


async def _owned(
    request: web.Request, uow: UnitOfWork, visit: Visit
) -> tuple[Respondent, DatasetRating] | web.Response:
    """The rating a ref names, if it is this visitor's; otherwise the page to show instead."""
    rating_id = rating_id_of(request.app[SEALS_KEY], request.match_info["ref"])
    rating = await uow.dataset_ratings.rating(rating_id) if rating_id is not None else None
    if rating is None:
        return message_page(request, visit, "web_not_found", 404)
    respondent = await uow.responses.find_respondent(visit.key)
    if respondent is None or rating.respondent_id != respondent.id:
        return message_page(request, visit, "web_session_lost", 403)
    return respondent, rating


async def rating_page(request: web.Request) -> web.StreamResponse:
    """GET /dr/{ref}: the current question, or the thank-you page."""
    visit = visit_of(request)
    desk = request.app[DATASETS_KEY]
    seals = request.app[SEALS_KEY]
    ref = request.match_info["ref"]
    lang = visit.lang
    async with request.app[UNITS_KEY]() as uow:
        await apply_language(uow, visit)
        owned = await _owned(request, uow, visit)
        if isinstance(owned, web.Response):
            return owned
        respondent, rating = owned
        step = None
        if rating.status is RatingStatus.IN_PROGRESS:
            conversation = await desk.conversation(uow, respondent, rating, visit.channel)
            step = conversation.current() if conversation is not None else None
        if not isinstance(step, Ask):
            report = await uow.dataset_ratings.report_of(rating.id)
            case = None
            if report is not None and report.deadline is not None:
                here = rating_path(seals, rating.id) + "/report"
                case = await complaint_case(request, uow.complaints, report, visit, here)
            thanks = {
                "title": in_language(desk.definition.title, lang),
                "thanks": in_language(desk.definition.thanks, lang),
                "complaint": None,
                "complaint_url": None,
                "complaint_button": "web_complaint_link",
                "case": case,
                "service": rating.dataset.title(lang),
                "rating": None,  # an office's rating: a data set has none
            }
            return page(request, visit, "thanks.html", thanks)
    # the progress counts what this rating may still ask, as the service survey's does
    assert conversation is not None  # an Ask came from it
    step = replace(step, total=questions_to_ask(desk.definition, conversation.answers))
    return render_question(
        request,
        visit,
        desk.definition,
        step,
        step.error or read_refusal(seals, ref, request.query.get("e")),
        first=step.number == 1,
        service=rating.dataset.title(lang),
        agency=rating.dataset.agency.name(lang),
        action=rating_path(seals, rating.id),
    )


async def answer(request: web.Request) -> web.StreamResponse:
    """POST /dr/{ref}: one answer (or a skip) to the current question, then back to GET."""
    visit = visit_of(request)
    seals = request.app[SEALS_KEY]
    desk = request.app[DATASETS_KEY]
    ref = request.match_info["ref"]
    form = await read_form(request, visit, ref)
    async with request.app[UNITS_KEY]() as uow:
        owned = await _owned(request, uow, visit)
        if isinstance(owned, web.Response):
            return owned
        respondent, rating = owned
        here = rating_path(seals, rating.id)
        if form is FormProblem.TOO_LARGE:
            refusal = refusal_param(seals, ref, InvalidAnswer("web_too_large"))
            return redirect(request, visit, f"{here}?{urlencode({'e': refusal})}")
        if isinstance(form, FormProblem):
            return message_page(request, visit, "web_bad_request", 403, back=here)
        if rating.status is not RatingStatus.IN_PROGRESS:
            return redirect(request, visit, here)
        name, raw = raw_answer(desk.definition, form)
        answered = await desk.answer(
            uow, respondent, rating, visit.channel, name, raw, network=_network(request)
        )
    if answered is not None and isinstance(answered.step, Ask) and answered.step.error is not None:
        refusal = refusal_param(seals, ref, answered.step.error)
        return redirect(request, visit, f"{here}?{urlencode({'e': refusal})}")
    return redirect(request, visit, here)


def _network(request: web.Request) -> bytes | None:
    """A keyed hash of the visitor's network, for the anti-gaming rules (never the address)."""
    address = client_network(request, request.app[SETTINGS_KEY].trusted_proxy_hops)
    return network_digest(request.app[SEALS_KEY].secret, address) if address else None


async def report_page(request: web.Request) -> web.StreamResponse:
    """GET /dr/{ref}/report: the report is shown on the rating's own page."""
    visit = visit_of(request)
    ref = request.match_info["ref"]
    return redirect(request, visit, f"/dr/{quote(ref, safe='')}" + _kept_reason(request))


def _kept_reason(request: web.Request) -> str:
    reason = request.query.get("e", "")
    return f"?{urlencode({'e': reason})}" if reason else ""


async def rate_report(request: web.Request) -> web.StreamResponse:
    """POST /dr/{ref}/report: the citizen's 1-5 rating of the agency's answer to their report."""
    visit = visit_of(request)
    seals = request.app[SEALS_KEY]
    form = await read_form(request, visit, request.match_info["ref"])
    async with request.app[UNITS_KEY]() as uow:
        owned = await _owned(request, uow, visit)
        if isinstance(owned, web.Response):
            return owned
        respondent, rating = owned
        here = rating_path(seals, rating.id)
        if isinstance(form, FormProblem):
            return message_page(request, visit, "web_bad_request", 403, back=here)
        report = await uow.dataset_ratings.report_of(rating.id)
        rated = await rate_from_form(request, visit, uow.complaints, respondent, report, form, here)
        await uow.commit()
        return rated
