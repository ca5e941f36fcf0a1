"""Where a citizen arrives: an invitation link (a page about the survey with a Start button) or
an office's QR code (pick the service received, then start a walk-in).

Reading a link changes nothing. Messengers, SMS apps and mail scanners fetch links to build
previews; if a GET opened the response, a preview bot would own the invitation and the citizen
would find it used. Only the Start button's POST opens it."""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web

from bot.engine.flow import InvalidAnswer
from bot.opening import OfficeChoice, Refused
from bot.web.keys import DESK_KEY, RATINGS_KEY, SEALS_KEY, UNITS_KEY
from bot.web.origin import note_origin
from bot.web.pages import (
    FormProblem,
    explain,
    in_language,
    link_path,
    message_page,
    office_path,
    page,
    read_form,
    redirect,
    refusal_page,
    say,
    survey_path,
)
from bot.web.visits import (
    Visit,
    apply_language,
    csrf_token,
    read_refusal,
    refusal_param,
    visit_of,
)
from core.clock import utcnow
from core.invitations import InvitationProblem
from core.models import Channel, Response, ResponseStatus
from core.public_results import OfficeRating
from core.responses import InvitationOpening
from core.unit_of_work import UnitOfWork

WALK_INS_PER_HOUR = 5  # per respondent; walk-ins have no service event to bind them


# Invitation links ----------------------------------------------------------------------------


async def link_page(request: web.Request) -> web.StreamResponse:
    """GET /s/{token}: what the invitation is about and a Start button; straight to the survey
    for the visitor who already started it. Creates no respondent and no response."""
    visit = visit_of(request)
    token = request.match_info["token"]
    async with request.app[UNITS_KEY]() as uow:
        await apply_language(uow, visit)
        found = await uow.responses.invitation_opening(token, None)
        if isinstance(found, InvitationProblem):
            return refusal_page(request, visit, found.value)
        taken = await uow.responses.of_invitation(found.id)
        if taken is not None:
            if await _is_theirs(uow, taken, visit):
                return redirect(request, visit, survey_path(request.app[SEALS_KEY], taken.id))
            if taken.status is ResponseStatus.COMPLETED:
                return refusal_page(request, visit, InvitationProblem.USED.value)
            if not _continues(taken, found):
                return refusal_page(request, visit, InvitationProblem.EXPIRED.value)
        service = found.service
        agency = await uow.responses.agency(service.agency_id)
    definition = request.app[DESK_KEY].definition(found.survey_id)
    lang = visit.lang
    context = {
        "title": in_language(definition.title, lang),
        "service": service.name(lang),
        "agency": agency.name(lang) if agency is not None else "",
        "intro": in_language(definition.intro, lang) if definition.intro else None,
        "action": link_path(token),
        "csrf": csrf_token(request.app[SEALS_KEY], _link_scope(token), visit.key),
    }
    return page(request, visit, "landing.html", context)


async def start_link(request: web.Request) -> web.StreamResponse:
    """POST /s/{token}: the Start button. Open (or resume) the invitation's response, then go to
    its current question."""
    visit = visit_of(request)
    token = request.match_info["token"]
    form = await read_form(request, visit, _link_scope(token))
    if isinstance(form, FormProblem):
        return message_page(request, visit, "web_bad_request", 403, back=link_path(token))
    async with request.app[UNITS_KEY]() as uow:
        opened = await open_invitation(request, uow, token, visit.key, visit.channel, visit.lang)
    if isinstance(opened, Refused):
        return refusal_page(request, visit, opened.reason)
    return redirect(request, visit, survey_path(request.app[SEALS_KEY], opened.id))


async def open_invitation(
    request: web.Request,
    store: UnitOfWork,
    token: str,
    key: str,
    channel: Channel,
    lang: str,
) -> Response | Refused:
    """Open (or resume) an invitation's response for the respondent with this key."""
    # Look before creating a respondent: guessed or mangled links must write nothing.
    found = await store.responses.invitation_opening(token, None)
    if isinstance(found, InvitationProblem):
        return Refused(found.value)
    respondent = await store.responses.respondent(key, lang)
    opened = await request.app[DESK_KEY].open_invitation(store, respondent, token, channel, lang)
    if isinstance(opened, Response):
        await note_origin(request, store, opened.id)
    return opened


def _link_scope(token: str) -> str:
    return f"link:{token}"


async def _is_theirs(uow: UnitOfWork, response: Response, visit: Visit) -> bool:
    """The visitor's own survey, still open: a reload or a second tap goes back to it."""
    if visit.new_identity or response.status is not ResponseStatus.IN_PROGRESS:
        return False
    respondent = await uow.responses.find_respondent(visit.key)
    return respondent is not None and response.respondent_id == respondent.id


def _continues(response: Response, invitation: InvitationOpening) -> bool:
    """Someone else's unfinished survey of this link (another device, after /stop): the link
    is the key, Start continues it where it stopped, until it is completed or expires."""
    return (
        response.status
        in (
            ResponseStatus.IN_PROGRESS,
            ResponseStatus.STOPPED,
        )
        and invitation.expires_at > utcnow()
    )


# Office QR codes -----------------------------------------------------------------------------


async def office_page(request: web.Request) -> web.StreamResponse:
    """GET /o/{code}: the office's services as large radio buttons."""
    visit = visit_of(request)
    code = request.match_info["code"]
    async with request.app[UNITS_KEY]() as uow:
        await apply_language(uow, visit)
        respondent = await uow.responses.find_respondent(visit.key)
        opened = await request.app[DESK_KEY].open_office(uow, code, respondent)
    if isinstance(opened, Refused):
        return refusal_page(request, visit, opened.reason)
    if not opened.services:
        return refusal_page(request, visit, "office_unknown")
    error = read_refusal(request.app[SEALS_KEY], _office_scope(code), request.query.get("e"))
    ratings = request.app.get(RATINGS_KEY)  # the office's public rating, when composed in
    rating = await ratings.of_office(opened.office.id) if ratings is not None else None
    return _office_form(request, visit, code, opened, error, rating)


def _office_scope(code: str) -> str:
    return f"office:{code}"


def _office_form(
    request: web.Request,
    visit: Visit,
    code: str,
    choice: OfficeChoice,
    error: InvalidAnswer | None,
    rating: OfficeRating | None = None,
) -> web.Response:
    context = {
        "rating": rating.says[visit.lang] if rating else None,
        "rating_link": (rating.link_text[visit.lang], rating.path_in(visit.lang))
        if rating
        else None,
        "heading": say("choose_service", visit.lang, {"office": choice.office.name(visit.lang)}),
        "services": [
            {"value": str(service.id), "label": service.name(visit.lang), "id": f"s{service.id}"}
            for service in choice.services
        ],
        "action": office_path(code),
        "csrf": csrf_token(request.app[SEALS_KEY], _office_scope(code), visit.key),
        "error": explain(error, visit.lang),
    }
    return page(request, visit, "office.html", context)


async def start_walk_in(request: web.Request) -> web.StreamResponse:
    """POST /o/{code}: the service picked at an office starts a walk-in response."""
    visit = visit_of(request)
    seals = request.app[SEALS_KEY]
    code = request.match_info["code"]
    scope = _office_scope(code)
    form = await read_form(request, visit, scope)
    if isinstance(form, FormProblem):
        return message_page(request, visit, "web_bad_request", 403, back=office_path(code))
    service_id = _small_int(form.get("service", ""))
    async with request.app[UNITS_KEY]() as uow:
        desk = request.app[DESK_KEY]
        opened = await desk.open_office(uow, code)
        if isinstance(opened, Refused):
            return refusal_page(request, visit, opened.reason)
        if service_id is None or all(service.id != service_id for service in opened.services):
            refusal = refusal_param(seals, scope, InvalidAnswer("choose_offered"))
            return redirect(request, visit, f"{office_path(code)}?e={refusal}")
        respondent = await uow.responses.respondent(visit.key, visit.lang)
        since = utcnow() - timedelta(hours=1)
        # From the database, not memory: holds across workers and restarts. It only slows down
        # someone who keeps the cookie; a scripted flood is the reverse proxy's job.
        if await uow.responses.walk_ins_since(respondent, since) >= WALK_INS_PER_HOUR:
            return message_page(request, visit, "web_too_many", 429)
        started = await desk.start_walk_in(
            uow, respondent, opened.office.id, service_id, visit.channel, visit.lang
        )
        if isinstance(started, Response):
            await note_origin(request, uow, started.id)
    if isinstance(started, Refused):
        return refusal_page(request, visit, started.reason)
    return redirect(request, visit, survey_path(seals, started.id))


def _small_int(value: str) -> int | None:
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 12 else None
