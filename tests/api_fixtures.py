"""Helpers for the integration API's tests: the API (with the web channel, as the composition
mounts both) over a test database, keys, signed requests, and what the database holds."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from admin.api import setup_api
from admin.api.auth import expected_signature
from bot.opening import SurveyDesk
from bot.web.routes import setup_web_channel
from core import apikeys
from core.intake import EnqueueInvitation
from core.models import FunnelDaily, Invitation, ServiceEvent
from core.settings import Settings
from tests.conftest import SURVEYS

SECRET = "api-test-secret-0123456789abcdef"
DELIVERED = "2026-11-30T10:15:00+05:00"


def api_settings(**overrides: Any) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        secret_key=SecretStr(SECRET),
        public_url="http://qanagat.test",
        **overrides,
    )


def event(external_id: str, **fields: Any) -> dict[str, Any]:
    """A valid event of the seed's service and office; `fields` override or add."""
    body: dict[str, Any] = {
        "external_id": external_id,
        "agency_code": "ALA",
        "service_code": "ALA-S1",
        "office_code": "ALA-01",
        "channel": "service_centre",
        "delivered_at": DELIVERED,
    }
    body.update(fields)
    return {key: value for key, value in body.items() if value is not ...}


@dataclass
class Reply:
    status: int
    body: Any
    headers: Mapping[str, str]

    @property
    def error(self) -> str | None:
        return self.body.get("error") if isinstance(self.body, dict) else None

    @property
    def problems(self) -> dict[str, str]:
        return {item["path"]: item["reason"] for item in self.body.get("problems", [])}


@dataclass
class Integration:
    """A delivery system holding an API key (and maybe a signing secret)."""

    server: TestServer
    key: str | None
    signing_secret: str | None = None
    client: aiohttp.ClientSession = field(init=False)

    def __post_init__(self) -> None:
        self.client = aiohttp.ClientSession(base_url=self.server.make_url("/"))

    async def post(
        self,
        body: Any,
        *,
        raw: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timestamp: int | None = None,
        sign: bool | None = None,
    ) -> Reply:
        data = raw if raw is not None else json.dumps(body).encode()
        sent = {"Content-Type": "application/json"}
        if self.key is not None:
            sent["Authorization"] = f"Bearer {self.key}"
        if self.signing_secret and (sign is None or sign):
            stamp = str(int(time.time()) if timestamp is None else timestamp)
            sent["X-Qanagat-Timestamp"] = stamp
            sent["X-Qanagat-Signature"] = expected_signature(self.signing_secret, stamp, data)
        sent.update(headers or {})
        async with self.client.post("/api/v1/service-events", data=data, headers=sent) as reply:
            text = await reply.text()
            try:
                parsed = json.loads(text)
            except ValueError:
                parsed = text
            return Reply(reply.status, parsed, dict(reply.headers))

    async def close(self) -> None:
        await self.client.close()


@dataclass
class ApiSite:
    server: TestServer
    session_factory: async_sessionmaker[AsyncSession]
    settings: Settings
    integrations: list[Integration] = field(default_factory=list)

    async def integration(
        self, agencies: list[str] | None = None, *, signing: bool = False
    ) -> Integration:
        """A new key (all agencies when `agencies` is None) and a client that uses it."""
        async with self.session_factory() as session:
            created = await apikeys.create(
                session,
                self.settings.secret_bytes(),
                "test integration",
                agencies,
                with_signing_secret=signing,
            )
            await session.commit()
        integration = Integration(self.server, created.key, created.signing_secret)
        self.integrations.append(integration)
        return integration

    def anonymous(self) -> Integration:
        integration = Integration(self.server, None)
        self.integrations.append(integration)
        return integration

    async def counts(self) -> tuple[int, int]:
        """(service events, invitations) in the database."""
        async with self.session_factory() as session:
            events = await session.scalar(select(func.count()).select_from(ServiceEvent))
            invitations = await session.scalar(select(func.count()).select_from(Invitation))
            return int(events or 0), int(invitations or 0)

    async def funnel(self) -> list[FunnelDaily]:
        async with self.session_factory() as session:
            return list(await session.scalars(select(FunnelDaily).order_by(FunnelDaily.id)))


def build_api_app(
    session_factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    survey_ttl_hours: Mapping[str, int] | None = None,
    enqueue_invitation: EnqueueInvitation | None = None,
    redis: Any = None,
) -> web.Application:
    app = web.Application()
    setup_web_channel(
        app,
        settings=settings,
        session_factory=session_factory,
        desk=SurveyDesk(SURVEYS, "post_service"),
    )
    setup_api(
        app,
        settings=settings,
        session_factory=session_factory,
        redis=redis,
        survey_ttl_hours=survey_ttl_hours
        or {survey.id: survey.invitation_ttl_hours for survey in SURVEYS.values()},
        enqueue_invitation=enqueue_invitation,
    )
    return app


@asynccontextmanager
async def running_api(
    session_factory: async_sessionmaker[AsyncSession],
    settings: Settings | None = None,
    **options: Any,
) -> AsyncIterator[ApiSite]:
    settings = settings or api_settings()
    server = TestServer(build_api_app(session_factory, settings, **options))
    await server.start_server()
    site = ApiSite(server, session_factory, settings)
    try:
        yield site
    finally:
        for integration in site.integrations:
            await integration.close()
        await server.close()
