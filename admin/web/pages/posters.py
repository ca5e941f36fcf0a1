"""An office's poster of the day (SVG, PNG or PDF from core.posters), for administrators and
the office's own agency. Served only behind the sign-in: the day's code on it is what lets a
walk-in answer count, so a poster open to anyone would defeat its rotation. Audit-logged."""

from __future__ import annotations

import asyncio

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from admin import figures
from admin.audit import Action
from admin.web.access import EVERYONE, add_route, allow
from admin.web.keys import Viewer, audit, config_of, signed_in
from admin.web.render import SECURITY_HEADERS, message_page
from core.clock import reporting_day
from core.dataset_ratings import payload_for
from core.models import AdminRole, Dataset, DatasetState
from core.posters import (
    Poster,
    PosterOffice,
    PosterRenderingUnavailable,
    render_dataset_poster,
    render_poster,
)
from core.walk_ins import OfficeCodes, PosterCodeError

POSTER_ROLES = frozenset({AdminRole.ADMIN, AdminRole.AGENCY})
FORMATS = {"svg": "image/svg+xml", "png": "image/png", "pdf": "application/pdf"}


def setup(app: web.Application) -> None:
    add_route(app, "GET", "/agencies/{code}/offices/{office}/poster", poster, name="poster")
    add_route(
        app,
        "GET",
        "/agencies/{code}/datasets/{dataset}/poster",
        dataset_poster,
        name="dataset_poster",
    )


def _body(item: Poster, fmt: str) -> bytes:
    if fmt == "png":
        return item.png()
    if fmt == "pdf":
        return item.pdf()
    return item.svg.encode()


@allow(POSTER_ROLES)
async def poster(request: web.Request) -> web.StreamResponse:
    viewer = signed_in(request)
    config = config_of(request)
    settings = config.settings
    fmt = request.query.get("format", "svg")
    if fmt not in FORMATS:
        return message_page(request, "poster_format_unknown", 404)
    async with config.session_factory() as db:
        agency = await figures.visible_agency(db, viewer, request.match_info["code"])
        office = (
            await figures.visible_office(db, viewer, agency, request.match_info["office"])
            if agency is not None
            else None
        )
        if office is None:
            return message_page(request, "office_not_found", 404)
        day = reporting_day(config.clock())
        try:
            item = render_poster(
                PosterOffice(office.code, office.name_kk, office.name_ru),
                day,
                OfficeCodes(settings.secret_bytes(), settings.poster_grace_days),
                public_url=settings.public_url,
                bot_username=settings.telegram_bot_username,
            )
            # Cairo's rendering takes a good fraction of a second: off the event loop.
            body = await asyncio.to_thread(_body, item, fmt)
        except PosterCodeError:
            return message_page(request, "poster_code_unusable", 422)
        except PosterRenderingUnavailable:
            return message_page(request, "poster_format_unavailable", 503)
        details = {"office": office.code, "day": day.isoformat(), "format": fmt}
        audit(request, db, Action.POSTER, details)
        await db.commit()
    return _download(item, fmt, body)


def _download(item: Poster, fmt: str, body: bytes) -> web.Response:
    response = web.Response(
        body=body,
        headers={
            "Content-Type": FORMATS[fmt],
            "Content-Disposition": f'attachment; filename="{item.file_stem}.{fmt}"',
        },
    )
    response.headers.update(
        {k: v for k, v in SECURITY_HEADERS.items() if k != "Content-Security-Policy"}
    )
    return response


async def _published_dataset(
    db: AsyncSession, viewer: Viewer, agency_code: str, external_id: str
) -> Dataset | None:
    agency = await figures.visible_agency(db, viewer, agency_code)
    if agency is None:
        return None
    found: Dataset | None = await db.scalar(
        select(Dataset).where(
            Dataset.agency_id == agency.id,
            Dataset.external_id == external_id,
            Dataset.state == DatasetState.PUBLISHED,
        )
    )
    return found


@allow(EVERYONE)
async def dataset_poster(request: web.Request) -> web.StreamResponse:
    """A data set's QR card: nothing on it rotates or is secret, so every role that sees the
    agency may print it; a withdrawn set has no card (its rating is closed)."""
    viewer = signed_in(request)
    config = config_of(request)
    settings = config.settings
    fmt = request.query.get("format", "svg")
    if fmt not in FORMATS:
        return message_page(request, "poster_format_unknown", 404)
    async with config.session_factory() as db:
        dataset = await _published_dataset(
            db, viewer, request.match_info["code"], request.match_info["dataset"]
        )
        if dataset is None:
            return message_page(request, "dataset_not_found", 404)
        item = render_dataset_poster(
            dataset.external_id,
            (dataset.title_kk, dataset.title_ru),
            payload_for(dataset),
            public_url=settings.public_url,
            bot_username=settings.telegram_bot_username,
        )
        try:
            body = await asyncio.to_thread(_body, item, fmt)
        except PosterRenderingUnavailable:
            return message_page(request, "poster_format_unavailable", 503)
        audit(request, db, Action.POSTER, {"dataset": dataset.external_id, "format": fmt})
        await db.commit()
    return _download(item, fmt, body)
