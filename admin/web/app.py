"""The admin web app, an aiohttp sub-application mounted at /admin on the main server.

    GET  /admin/                 national overview                      pages/overview.py
    GET  /admin/agencies         agencies, filter by kind and region     pages/agencies.py
    GET  /admin/agencies/{code}  one agency's survey figures
    GET  /admin/ranking          scores from stored runs, both methods   pages/ranking.py
    POST /admin/ranking/compute  store runs for a period (admins)
    GET  /admin/agencies/{code}/report  printable report card          pages/report.py
    GET  /admin/methodology      the methodologies in plain words        pages/methodology.py
    GET  /admin/agencies/{code}/services/{service}, .../offices/{office}  pages/places.py
    GET  /admin/agencies/{code}/offices/{office}/poster?format=svg|png|pdf  pages/posters.py
    GET  /admin/users            users (admins)                          pages/people.py
    POST /admin/users, /admin/users/role|disable|enable|password  add and change users
    GET|POST /admin/apikeys, POST /admin/apikeys/revoke  API keys  pages/integration_keys.py
    GET  /admin/audit            audit log (admins)
    GET  /admin/responses        responses explorer                     pages/responses.py
    GET  /admin/agencies/{code}/datasets, /admin/datasets  open data sets  pages/datasets.py
    GET|POST /admin/imports, POST /admin/imports/confirm  indicator files   pages/imports.py
    GET  /admin/complaints[/{reference}], POST answer   complaints        pages/complaints.py
    GET  /admin/summaries        complaint summaries, ?download=xlsx|txt  pages/summaries.py
    GET  /admin/staff-chats, POST .../code, .../unsubscribe  staff chats  pages/staff_chats.py
    GET  /admin/login, POST /admin/login, POST /admin/logout,            pages/account.py
    GET|POST /admin/password, POST /admin/language

Every page's tables export with ?export=NAME&format=csv|xlsx. Access: admin/web/access.py.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from admin.web import words
from admin.web.access import ACCESS_TABLE, Access, access_middleware, declare_route
from admin.web.keys import ADMIN, TEMPLATES, AdminConfig, Scorer
from admin.web.pages import (
    account,
    agencies,
    complaints,
    datasets,
    imports,
    integration_keys,
    methodology,
    overview,
    people,
    places,
    posters,
    ranking,
    report,
    responses,
    score_runs,
    staff_chats,
    summaries,
)
from admin.web.throttle import LoginThrottle, MemoryThrottle, RedisThrottle
from core.clock import utcnow
from core.settings import Settings

HERE = Path(__file__).parent
MOUNT = "/admin"
STATIC_PREFIX = "/static"
ADMIN_APP = web.AppKey("qanagat_admin_app", web.Application)


def build_admin_app(
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    redis: Redis | None = None,
    clock: Callable[[], datetime] = utcnow,
    scorer: Scorer | None = None,
    complaint_changed: Callable[[], None] | None = None,
) -> web.Application:
    """The admin as an app of its own, to be mounted at MOUNT (see `setup_admin`)."""
    missing = words.problems()
    if missing:
        raise RuntimeError("; ".join(missing))
    app = web.Application(middlewares=[access_middleware])
    app[ACCESS_TABLE] = {}
    window = timedelta(minutes=settings.admin_login_window_minutes)
    limit = settings.admin_login_max_failures
    throttle: LoginThrottle = (
        RedisThrottle(redis, limit, window)
        if redis is not None
        else MemoryThrottle(limit, window, clock)
    )
    app[ADMIN] = AdminConfig(
        settings=settings,
        session_factory=session_factory,
        redis=redis,
        clock=clock,
        throttle=throttle,
        secure_cookies=settings.public_url.startswith("https://"),
        static_urls=_static_urls(),
        mount=MOUNT,
        scorer=scorer,
        complaint_changed=complaint_changed,
    )
    aiohttp_jinja2.setup(
        app,
        app_key=TEMPLATES,
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        default_helpers=False,
    )
    overview.setup(app)
    agencies.setup(app)
    ranking.setup(app)
    score_runs.setup(app)
    report.setup(app)
    methodology.setup(app)
    people.setup(app)
    integration_keys.setup(app)
    account.setup(app)
    imports.setup(app)
    responses.setup(app)
    places.setup(app)
    posters.setup(app)
    complaints.setup(app)
    summaries.setup(app)
    staff_chats.setup(app)
    datasets.setup(app)
    static = app.router.add_static(STATIC_PREFIX, HERE / "static", name="admin_static")
    for route in static:
        declare_route(app, route, Access(None))
    return app


def setup_admin(
    app: web.Application,
    *,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    redis: Redis | None = None,
    clock: Callable[[], datetime] = utcnow,
    scorer: Scorer | None = None,
    complaint_changed: Callable[[], None] | None = None,
) -> web.Application:
    """Mount the admin at /admin on `app` (and /admin itself redirects to /admin/)."""
    admin = build_admin_app(settings, session_factory, redis, clock, scorer, complaint_changed)
    app.router.add_get(MOUNT, _to_admin)
    app.add_subapp(MOUNT, admin)
    app[ADMIN_APP] = admin
    return admin


async def _to_admin(_request: web.Request) -> web.StreamResponse:
    raise web.HTTPPermanentRedirect(MOUNT + "/")


def _static_urls() -> dict[str, str]:
    urls: dict[str, str] = {}
    for path in sorted((HERE / "static").iterdir()):
        if path.is_file():
            digest = hashlib.sha256(path.read_bytes()).hexdigest()[:10]
            urls[path.name] = f"{MOUNT}{STATIC_PREFIX}/{path.name}?v={digest}"
    return urls
