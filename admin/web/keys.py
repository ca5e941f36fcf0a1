"""What the admin app keeps for its handlers, and who is asking (the viewer of a request)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import jinja2
from aiohttp import web
from cachetools import LRUCache
from markupsafe import Markup
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from admin.audit import Action, record
from admin.standings import RunMemory
from admin.tallies import TallyMemory
from admin.web.throttle import LoginThrottle
from core.models import AdminRole
from core.network import client_address
from core.periods import Period
from core.settings import Settings
from scoring import Methodology


class StoredRun(Protocol):
    """What a scorer returns per run (qanagat.scores.ScoredRun)."""

    @property
    def run_id(self) -> int | None: ...
    @property
    def methodology(self) -> Methodology: ...


Scorer = Callable[[AsyncSession, Period], Awaitable[Sequence[StoredRun]]]


class Fragments:
    """Rendered parts of pages, under a key that names everything they show; bounded by their
    total size, least recently used forgotten. One per admin app."""

    def __init__(self, size: int = 32_000_000) -> None:
        self.parts: LRUCache[tuple[Any, ...], Markup] = LRUCache(maxsize=size, getsizeof=len)


@dataclass(frozen=True)
class AdminConfig:
    settings: Settings
    session_factory: async_sessionmaker[AsyncSession]
    redis: Redis | None
    clock: Callable[[], datetime]
    throttle: LoginThrottle
    secure_cookies: bool
    static_urls: dict[str, str]
    mount: str  # where the admin app is mounted, e.g. "/admin"
    # Scores a period from the database under the published methodologies and stores the runs
    # (the same path as `qanagat score`); given by the composition (qanagat/), None: not offered.
    scorer: Scorer | None = None
    # Called after a complaint changed (answered, moved): the composition may send the citizen's
    # notice at once (the embedded mode runs the worker's jobs in the server); None: the worker's
    # next pass sends it.
    complaint_changed: Callable[[], None] | None = None
    # what pages read from stored score runs (immutable), for this app's database
    runs: RunMemory = field(default_factory=RunMemory)
    # agencies' rollup sums of older days, under the rollup revision
    tallies: TallyMemory = field(default_factory=TallyMemory)
    fragments: Fragments = field(default_factory=Fragments)


@dataclass(frozen=True)
class Viewer:
    """The signed-in person behind a request."""

    user_id: int
    email: str
    role: AdminRole
    agency_id: int | None
    agency_code: str | None
    language: str
    session_id: int
    csrf: str

    @property
    def is_agency(self) -> bool:
        return self.role is AdminRole.AGENCY


ADMIN = web.AppKey("qanagat_admin", AdminConfig)
TEMPLATES = web.AppKey("qanagat_admin_templates", jinja2.Environment)
VIEWER = "qanagat_admin_viewer"  # request key: Viewer | None
LANG = "qanagat_admin_lang"  # request key: the language of the page


def config_of(request: web.Request) -> AdminConfig:
    return request.app[ADMIN]


def viewer_of(request: web.Request) -> Viewer | None:
    viewer = request.get(VIEWER)
    return viewer if isinstance(viewer, Viewer) else None


def signed_in(request: web.Request) -> Viewer:
    """The viewer of a route that requires sign-in (the access middleware guarantees one)."""
    viewer = viewer_of(request)
    if viewer is None:
        raise web.HTTPUnauthorized()
    return viewer


def lang_of(request: web.Request) -> str:
    return str(request.get(LANG, "ru"))


def client_of(request: web.Request) -> str | None:
    """The client's address, for throttling and the audit log (behind our proxies, the hop
    they appended to X-Forwarded-For)."""
    settings = config_of(request).settings
    forwarded = request.headers.get("X-Forwarded-For", "")
    return client_address(request.remote, forwarded, settings.trusted_proxy_hops)


def audit(
    request: web.Request, db: AsyncSession, action: Action, details: dict[str, Any] | None = None
) -> None:
    """Record `action` by the signed-in person, now, in `db`'s unit of work (the caller
    commits)."""
    viewer = signed_in(request)
    record(
        db,
        action,
        at=config_of(request).clock(),
        actor=viewer.email,
        user_id=viewer.user_id,
        client=client_of(request),
        details=details,
    )
