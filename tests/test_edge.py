"""The web edge of the whole app as it is composed for production: every route (citizen
pages, admin, API, health), walked with values no handler can accept, answers 4xx, never a
5xx; the security headers every response carries; public entry points limited per network."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.settings import Settings
from qanagat.app import build_app
from tests.admin_fixtures import ADMIN_EMAIL, PASSWORD, populate
from tests.conftest import ROOT, Seed
from tests.web_fixtures import read_page

# Values no route can take: a NUL, other control characters, numbers past any integer column,
# a 5,000-digit "answer", a CR/LF pair, a lone percent sign, bytes that are not UTF-8.
PATH_VALUES = ["%00", "x%00y", "9" * 25, "99999999999", "%0d%0a", "%ff%fe", "-1"]
QUERY_VALUES = ["%00", "9" * 5000, "99999999999", "%0d%0aX:1", "%ff", "%01"]
FORM_VALUES = ["\x00", "9" * 5000, "99999999999", "\r\nX: 1", "\x01\x1b", "-99999999999"]
QUERY_NAMES = [
    "page", "agency", "service", "office", "days", "period", "next", "back", "lang", "export",
    "format", "sort", "desc", "status", "kind", "q", "month", "year", "dataset", "done",
    "download", "compare", "methodology",
]  # fmt: skip
FORM_NAMES = [
    "email", "password", "current", "new", "repeat", "next", "back", "lang", "name", "code",
    "agency", "service", "office", "answer", "value", "text", "comment", "page", "role",
    "status", "reason", "problem", "rating", "init_data", "agencies", "key", "chat",
]  # fmt: skip


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # with {name} placeholders


def routes_of(app: web.Application) -> Iterator[Route]:
    """Every route of the app and its sub-apps, from the router itself (a sub-app's paths
    carry its prefix already)."""
    for resource in app.router.resources():
        if isinstance(resource, web.PrefixedSubAppResource):
            yield from routes_of(resource._app)
            continue
        if isinstance(resource, web.StaticResource):
            yield Route("GET", resource.canonical + "/{filename}")
            continue
        canonical = re.sub(r"\{(\w+):[^}]*\}", r"{\1}", resource.canonical)
        for route in resource:
            methods = ["GET", "POST"] if route.method == "*" else [route.method]
            for method in methods:
                if method in ("GET", "POST"):
                    yield Route(method, canonical)


def fill(path: str, value: str) -> str:
    return re.sub(r"\{\w+\}", value, path)


@pytest.fixture
async def server(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed, database_url: str
) -> AsyncIterator[TestServer]:
    await populate(session_factory, seed)
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        secret_key=SecretStr("edge-test-secret-0123456789abcdef"),
        database_url=database_url,
        public_url="http://qanagat.test",
        public_requests_per_minute=100_000,  # the walk is not what the limit is about
        api_requests_per_minute=100_000,
    )
    test_server = TestServer(build_app(settings, with_bot=False))
    await test_server.start_server()
    yield test_server
    await test_server.close()


async def _admin_browser(server: TestServer) -> tuple[aiohttp.ClientSession, str]:
    browser = aiohttp.ClientSession(
        base_url=server.make_url("/"), cookie_jar=aiohttp.CookieJar(unsafe=True)
    )
    async with browser.get("/admin/login") as form:
        csrf = read_page(form.status, str(form.url), await form.text()).hidden("csrf") or ""
    fields = {"csrf": csrf, "email": ADMIN_EMAIL, "password": PASSWORD}
    async with browser.post("/admin/login", data=fields) as signed:
        page = read_page(signed.status, str(signed.url), await signed.text())
        assert signed.status == 200, page.error
    return browser, page.hidden("csrf") or csrf


async def _status(
    browser: aiohttp.ClientSession, method: str, url: str, data: Any = None
) -> tuple[int, str]:
    async with browser.request(
        method, url, data=data, allow_redirects=False, headers={"Connection": "close"}
    ) as response:
        body = await response.read()
        return response.status, body[:300].decode("utf-8", "replace")


async def test_no_route_answers_malformed_input_with_a_server_error(server: TestServer) -> None:
    app = server.app
    assert app is not None
    routes = sorted(set(routes_of(app)), key=lambda r: (r.path, r.method))
    paths = {route.path for route in routes}
    # The walk covers every side of the app.
    assert {"/healthz", "/api/v1/service-events", "/admin/login", "/s/{token}"} <= paths
    assert {"/results", "/results/agencies/{code}", "/results/offices/{code}"} <= paths
    assert len(routes) > 60
    admin, csrf = await _admin_browser(server)
    anonymous = aiohttp.ClientSession(base_url=server.make_url("/"))
    failures: list[str] = []
    try:
        for route in routes:
            if route.path == "/admin/logout":
                continue  # it would end the admin's session for the rest of the walk
            for browser in (anonymous, admin):
                for value in PATH_VALUES:
                    url = fill(route.path, value)
                    status, body = await _status(browser, route.method, url)
                    if status >= 500:
                        failures.append(f"{route.method} {url} -> {status} {body!r}")
                sample = fill(route.path, "1")
                for value in QUERY_VALUES:
                    query = "&".join(f"{name}={value}" for name in QUERY_NAMES)
                    status, body = await _status(browser, route.method, f"{sample}?{query}")
                    if status >= 500:
                        failures.append(f"{route.method} {sample}?…={value[:20]} -> {status}")
                if route.method == "POST":
                    for value in FORM_VALUES:
                        form = [("csrf", csrf), *((name, value) for name in FORM_NAMES)]
                        status, body = await _status(browser, "POST", sample, form)
                        if status >= 500:
                            failures.append(f"POST {sample} form={value[:20]!r} -> {status}")
    finally:
        await admin.close()
        await anonymous.close()
    assert failures == []


@pytest.fixture
async def https_server(
    session_factory: async_sessionmaker[AsyncSession], seed: Seed, database_url: str
) -> AsyncIterator[TestServer]:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        secret_key=SecretStr("edge-test-secret-0123456789abcdef"),
        database_url=database_url,
        public_url="https://qanagat.test",
        public_requests_per_minute=5,
        api_requests_per_minute=3,
    )
    test_server = TestServer(build_app(settings, with_bot=False))
    await test_server.start_server()
    yield test_server
    await test_server.close()


async def _headers(server: TestServer, method: str, path: str) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession(base_url=server.make_url("/")) as browser,
        browser.request(method, path, allow_redirects=False) as response,
    ):
        await response.read()
        return response.status, response.headers


async def test_every_response_carries_its_security_headers(https_server: TestServer) -> None:
    for method, path in [
        ("GET", "/healthz"),
        ("GET", "/api/v1/openapi.json"),
        ("GET", "/api/v1/docs"),
        ("POST", "/api/v1/service-events"),
        ("GET", "/static/web/" + _a_static_file()),
        ("GET", "/s/unknown-token"),
        ("GET", "/d"),
        ("GET", "/admin/login"),
        ("GET", "/app"),
    ]:
        _status, headers = await _headers(https_server, method, path)
        assert headers["X-Content-Type-Options"] == "nosniff", path
        assert headers["Strict-Transport-Security"].startswith("max-age="), path
        assert headers["Server"] == "qanagat", path  # no aiohttp or Python version
        policy = headers["Content-Security-Policy"]
        if path == "/app":
            # Telegram Web shows the Mini App in a frame: only Telegram may frame it.
            assert "frame-ancestors 'self' https://web.telegram.org" in policy
        else:
            assert "frame-ancestors 'none'" in policy, path
    _status, docs = await _headers(https_server, "GET", "/api/v1/docs")
    assert "script-src" not in docs["Content-Security-Policy"]


async def test_no_hsts_when_the_public_url_is_plain_http(server: TestServer) -> None:
    _status, headers = await _headers(server, "GET", "/healthz")
    assert "Strict-Transport-Security" not in headers


async def test_an_api_404_does_not_echo_the_path(server: TestServer) -> None:
    async with (
        aiohttp.ClientSession(base_url=server.make_url("/")) as browser,
        browser.get("/api/v1/<script>alert(1)</script>") as response,
    ):
        assert response.status == 404
        body = await response.text()
    assert "script" not in body and "alert" not in body


async def test_public_entry_points_are_limited_per_network(https_server: TestServer) -> None:
    statuses = [(await _headers(https_server, "GET", f"/s/token-{n}"))[0] for n in range(7)]
    assert statuses[:5] == [404] * 5
    assert statuses[5:] == [429, 429]
    status, headers = await _headers(https_server, "GET", "/o/some-code")
    assert status == 429 and headers["Retry-After"] == "60"  # one budget for the entry pages
    api = [(await _headers(https_server, "POST", "/api/v1/service-events"))[0] for _ in range(4)]
    assert api == [401, 401, 401, 429]
    # Pages that are not entry points are not counted.
    assert (await _headers(https_server, "GET", "/healthz"))[0] == 200


async def test_the_results_pages_are_limited_on_a_budget_of_their_own(
    https_server: TestServer,
) -> None:
    statuses = [
        (await _headers(https_server, "GET", f"/results?lang={n % 3}"))[0] for n in range(6)
    ]
    assert statuses == [200] * 5 + [429]  # a crawler is stopped after the minute's budget
    status, headers = await _headers(https_server, "GET", "/results/agencies/ALA")
    assert status == 429 and headers["Retry-After"] == "60"
    # reading the results never uses up the hall's budget for starting surveys
    assert (await _headers(https_server, "GET", "/s/some-token"))[0] == 404


def _a_static_file() -> str:
    from bot.web.routes import STATIC_DIR

    return next(path.name for path in sorted(STATIC_DIR.iterdir()) if path.is_file())


def test_the_reverse_proxy_limits_entry_points_and_sends_hsts(tmp_path: Path) -> None:
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    assert "server_tokens off;" in conf
    assert 'add_header Strict-Transport-Security "max-age=' in conf
    entry = conf[conf.index("location ~ ^/(s|o|d)/|^/app/session$") :]
    assert "limit_req zone=qanagat_entry" in entry.split("}")[0]
    api = conf[conf.index("location /api/") :]
    assert "limit_req zone=qanagat_api" in api.split("}")[0]
    nginx = shutil.which("nginx")
    if nginx is None:
        return  # the syntax check needs nginx itself
    site = tmp_path / "site.conf"
    site.write_text(
        conf.replace("server web:8080", "server 127.0.0.1:8080")
        .replace("server bot:8081", "server 127.0.0.1:8081")
        .replace("listen 80;", "listen 127.0.0.1:18089;")
    )
    main = tmp_path / "nginx.conf"
    main.write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{\naccess_log off;\ninclude {site};\n}}\n"
    )
    checked = subprocess.run(  # noqa: S603 (our own nginx on a file we wrote)
        [nginx, "-t", "-c", str(main)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stderr


@pytest.mark.parametrize("where", ["memory", "redis"])
async def test_a_rate_limit_holds_under_parallel_hits(where: str, redis_url: str | None) -> None:
    import asyncio

    from redis.asyncio import Redis

    from core.rate_limits import MemoryRateLimiter, RateLimiter, RedisRateLimiter

    if where == "redis" and redis_url is None:
        pytest.skip("no Redis configured (QANAGAT_TEST_REDIS_URL)")
    redis = Redis.from_url(redis_url) if where == "redis" and redis_url else None
    limiter: RateLimiter = RedisRateLimiter(redis) if redis is not None else MemoryRateLimiter()
    try:
        allowed = await asyncio.gather(
            *(limiter.allow("net:198.51.100.7", 5, 60) for _ in range(40))
        )
        assert allowed.count(True) == 5
        assert await limiter.allow("net:198.51.100.8", 5, 60)  # another network, its own count
    finally:
        if redis is not None:
            await redis.aclose()
