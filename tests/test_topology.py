"""The production topology as plain processes: the shipped nginx configuration in front of two
web and two bot processes (webhook mode, against the fake Bot API), one worker, PostgreSQL and
Redis. Service events come in through the proxy, citizens link their chats and answer surveys
through it (Telegram calls the webhook at the proxy, which spreads the calls over both bots),
Telegram delivers some updates twice: every event gets one response, none twice, none lost,
every invitation message once, and every process stays healthy.

Skipped without the PostgreSQL and Redis test servers or nginx, failing in CI
(QANAGAT_TEST_REQUIRE_SERVICES=1); `make test` installs Debian's nginx when run as root."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import aiohttp
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import apikeys
from core.integrity import ledger as chain
from core.models import (
    DailyRollup,
    DeliveryStatus,
    FunnelDaily,
    InvitationDelivery,
    LedgerPending,
    Response,
    ResponseStatus,
    ServiceEvent,
)
from tests import services
from tests.conftest import LENIENT_RULES, Seed
from tests.fake_telegram import BotMessage, FakeTelegram, FakeUser
from tests.test_telegram_bot import HAPPY_PATH_KK

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(600)]
ROOT = Path(__file__).parent.parent
QANAGAT = Path(sys.executable).parent / "qanagat"
SECRET = "topology-test-secret-0123456789-abcdefghijk"
TOKEN = "100000:TOPOLOGY-TEST"
WEBHOOK_SECRET = "topology-Webhook_Secret1-0123456789abcdef"
BOT_USERNAME = "QanagatTopologyBot"
CODE = re.compile(r"\b([0-9A-Z]{4}-[0-9A-Z]{4})\b")
LINKED, PRINTED = 5, 5  # citizens invited in their chat / with a printed link


def nginx_binary() -> str | None:
    found = shutil.which("nginx")
    if found:
        return found
    return "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def proxy_configuration(where: Path, port: int, webs: list[int], bots: list[int]) -> Path:
    """The shipped deploy/nginx.conf with the processes on this machine for Docker's names:
    an upstream group each instead of per-request DNS (there is no Docker DNS here), the rest
    (locations, headers, limits) as shipped."""
    shipped = (ROOT / "deploy" / "nginx.conf").read_text()
    site, replaced = re.subn(r"(?m)^resolver [^;]*;", "", shipped)
    substitutions = {
        "set $qanagat_web http://web:8080;": "set $qanagat_web http://qanagat_web;",
        "set $qanagat_bot http://bot:8081;": "set $qanagat_bot http://qanagat_bot;",
        "listen 80;": f"listen 127.0.0.1:{port};",
    }
    for old, new in substitutions.items():
        assert old in site, f"deploy/nginx.conf no longer has {old!r}"
        site = site.replace(old, new)
    assert replaced == 1
    groups = "".join(
        f"upstream qanagat_{name} {{ {' '.join(f'server 127.0.0.1:{p};' for p in ports)} }}\n"
        for name, ports in (("web", webs), ("bot", bots))
    )
    (where / "qanagat.conf").write_text(groups + site)
    for folder in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (where / folder).mkdir(exist_ok=True)
    main = where / "nginx.conf"
    main.write_text(
        ("user root;\n" if os.geteuid() == 0 else "")
        + f"worker_processes 1;\npid {where}/nginx.pid;\nerror_log {where}/error.log warn;\n"
        "events { worker_connections 1024; }\n"
        f"http {{\n  access_log {where}/access.log;\n"
        + "".join(
            f"  {f}_temp_path {where}/{d};\n"
            for f, d in (
                ("client_body", "body"),
                ("proxy", "proxy"),
                ("fastcgi", "fastcgi"),
                ("uwsgi", "uwsgi"),
                ("scgi", "scgi"),
            )
        )
        + f"  include {where}/qanagat.conf;\n}}\n"
    )
    return main


class Topology:
    """The processes, their ports and logs."""

    def __init__(self, where: Path) -> None:
        self.where = where
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.ports: dict[str, int] = {}

    def start(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> None:
        log = (self.where / f"{name}.log").open("wb")
        self.processes[name] = subprocess.Popen(  # noqa: S603
            argv, env=env, stdout=log, stderr=subprocess.STDOUT
        )

    def log_tail(self, name: str, lines: int = 30) -> str:
        path = self.where / f"{name}.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def assert_running(self) -> None:
        for name, process in self.processes.items():
            assert process.poll() is None, (
                f"{name} exited {process.returncode}:\n{self.log_tail(name)}"
            )

    async def healthy(self, client: aiohttp.ClientSession, name: str) -> dict[str, Any]:
        async with client.get(f"http://127.0.0.1:{self.ports[name]}/healthz") as response:
            body: dict[str, Any] = await response.json()
            assert response.status == 200, (name, body)
            return body

    # Five Python processes importing at once take a while on a busy 2-core machine.
    async def wait_healthy(self, client: aiohttp.ClientSession, timeout: float = 300) -> None:  # noqa: ASYNC109
        async with asyncio.timeout(timeout):
            for name in self.ports:
                while True:
                    self.assert_running()
                    try:
                        await self.healthy(client, name)
                        break
                    except (aiohttp.ClientError, AssertionError):
                        await asyncio.sleep(0.3)

    async def metric(self, client: aiohttp.ClientSession, name: str, sample: str) -> float:
        async with client.get(f"http://127.0.0.1:{self.ports[name]}/metrics") as response:
            text = await response.text()
        return sum(
            float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(sample)
        )

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


@contextmanager
def topology(where: Path) -> Iterator[Topology]:
    running = Topology(where)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


def process_env(database_url: str, redis_url: str, public_url: str, api_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QANAGAT_")}
    return env | {
        "PYTHONUNBUFFERED": "1",
        "QANAGAT_DATABASE_URL": database_url,
        "QANAGAT_REDIS_URL": redis_url,
        "QANAGAT_SECRET_KEY": SECRET,
        "QANAGAT_PUBLIC_URL": public_url,
        "QANAGAT_TELEGRAM_TOKEN": TOKEN,
        "QANAGAT_TELEGRAM_API_URL": api_url,
        "QANAGAT_TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "QANAGAT_TELEGRAM_BOT_USERNAME": BOT_USERNAME,
        "QANAGAT_TRUSTED_PROXY_HOPS": "1",  # nginx alone in front here
        "QANAGAT_ANTI_GAMING_RULES": str(LENIENT_RULES),
        "QANAGAT_LOG_FORMAT": "json",
        "QANAGAT_DATABASE_POOL_SIZE": "4",
        "QANAGAT_DATABASE_MAX_OVERFLOW": "4",
        "QANAGAT_DELIVERY_POLL_S": "0.5",
    }


async def link_code(citizen: FakeUser) -> str:
    await citizen.send("/link")
    message = await citizen.wait_for_message(timeout=60)
    found = CODE.search(message.plain_text or "")
    assert found, message.plain_text
    return found.group(1)


def invitation_token(message: BotMessage) -> str | None:
    """The survey token of an invitation message's button, if it is one."""
    for row in message.button_rows():
        for button in row:
            query = parse_qs(urlparse(str(button.get("url", ""))).query)
            if "start" in query:
                return query["start"][0]
    return None


async def answer_survey(citizen: FakeUser, token: str) -> dict[str, Any]:
    """Start from the invitation's token and answer every question; returns the last update
    (Telegram will deliver it once more). A citizen who linked their chat has a language
    already and is not asked for one."""
    await citizen.send(f"/start {token}")
    first = await citizen.wait_for_message(timeout=60)
    script = [("Қазақша", "жалпы"), *HAPPY_PATH_KK] if first.contains("Тілді") else HAPPY_PATH_KK
    last: dict[str, Any] = {}
    for label, expect in script:
        last = await citizen.press(label)
        await citizen.wait_for_message(containing=expect, timeout=60)
    return last


async def test_the_production_topology_loses_nothing_and_counts_nothing_twice(
    tmp_path: Path,
    fake: FakeTelegram,
    database_url: str,
    redis_url: str | None,
    session_factory: async_sessionmaker[AsyncSession],
    seed: Seed,
) -> None:
    services.require_postgres_url()
    nginx = nginx_binary()
    if redis_url is None or nginx is None:
        message = "needs the Redis test server and nginx (make test installs Debian's nginx)"
        if services.require_services():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    async with session_factory() as session:
        key = (await apikeys.create(session, SECRET.encode(), "queue", ["ALA"])).key
        await session.commit()

    proxy_port = free_port()
    names = ["web1", "web2", "bot1", "bot2", "worker"]
    ports = {name: free_port() for name in names}
    public_url = f"http://127.0.0.1:{proxy_port}"
    env = process_env(database_url, redis_url, public_url, fake.url)
    conf = proxy_configuration(
        tmp_path, proxy_port, [ports["web1"], ports["web2"]], [ports["bot1"], ports["bot2"]]
    )
    checked = subprocess.run(  # noqa: S603, ASYNC221 (before anything runs)
        [nginx, "-t", "-p", str(tmp_path), "-c", str(conf)], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stderr

    with topology(tmp_path) as running:
        running.ports = ports
        for name in ("web1", "web2"):
            running.start(
                name,
                [
                    str(QANAGAT),
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(ports[name]),
                    "--no-bot",
                ],
                env,
            )
        for name in ("bot1", "bot2"):
            bot_env = env | {"QANAGAT_TELEGRAM_MODE": "webhook"}
            running.start(
                name,
                [str(QANAGAT), "serve", "--host", "127.0.0.1", "--port", str(ports[name])],
                bot_env,
            )
        running.start(
            "worker", [str(QANAGAT), "worker"], env | {"QANAGAT_WORKER_PORT": str(ports["worker"])}
        )
        running.start("nginx", [nginx, "-p", str(tmp_path), "-c", str(conf), "-g", "daemon off;"])

        async with aiohttp.ClientSession() as client:
            await running.wait_healthy(client)
            await fake.wait_for(
                lambda: fake.webhook_url == f"{public_url}/telegram/webhook",
                timeout=30,
                what="setWebhook",
            )
            # Telegram retries a webhook call that failed; every update may also come twice.
            fake.webhook_retries = 3

            # Citizens who link their chat; their codes go on the service events.
            linked = [fake.user(9100 + i, language_code="kk") for i in range(LINKED)]
            codes = await asyncio.gather(*(link_code(citizen) for citizen in linked))

            def events(
                prefix: str, count: int, refs: list[str] | None = None
            ) -> list[dict[str, Any]]:
                return [
                    {
                        "external_id": f"{prefix}-{i}",
                        "agency_code": "ALA",
                        "service_code": "ALA-S1",
                        "office_code": "ALA-01",
                        "channel": "service_centre",
                        "delivered_at": "2026-11-30T10:15:00+05:00",
                        **({"telegram_ref": refs[i]} if refs else {}),
                    }
                    for i in range(count)
                ]

            batches = [events("linked", LINKED, list(codes)), events("printed", PRINTED)]
            answers: list[dict[str, Any]] = []
            for batch in [*batches, *batches]:  # the integration sends each batch twice
                async with client.post(
                    f"{public_url}/api/v1/service-events",
                    json={"events": batch},
                    headers={"Authorization": f"Bearer {key}"},
                ) as response:
                    assert response.status in (200, 201), await response.text()
                    answers.append(await response.json())
            assert [a["created"] for a in answers] == [LINKED, PRINTED, 0, 0]
            assert all(e["telegram_ref"] == "received" for e in answers[0]["events"])

            async def invited_in_chat(citizen: FakeUser) -> str:
                invitation = await citizen.wait_for_message(timeout=120)
                token = invitation_token(invitation)
                assert token, invitation.plain_text
                return token

            chat_tokens = await asyncio.gather(*(invited_in_chat(c) for c in linked))
            printed = [fake.user(9200 + i, language_code="kk") for i in range(PRINTED)]
            printed_tokens = [e["survey_url"].rsplit("/", 1)[-1] for e in answers[1]["events"]]
            citizens = [*linked, *printed]
            last_updates = await asyncio.gather(
                *(
                    answer_survey(citizen, token)
                    for citizen, token in zip(
                        citizens, [*chat_tokens, *printed_tokens], strict=True
                    )
                )
            )
            for update in last_updates:  # Telegram delivers the last answer once more
                await fake.send_update(update)
            await fake.wait_for(
                lambda: fake.pending_update_count == 0, timeout=30, what="updates delivered"
            )
            await asyncio.sleep(1.0)

            # Every process healthy; both bots and both web processes took their share.
            running.assert_running()
            for name in names:
                await running.healthy(client, name)
            for name in ("bot1", "bot2"):
                handled = await running.metric(
                    client, name, "qanagat_telegram_updates_handled_total"
                )
                assert handled > 0, f"{name} got no update through the proxy"
            for name in ("web1", "web2"):
                served = await running.metric(
                    client,
                    name,
                    'qanagat_http_request_duration_seconds_count{method="POST",route="/api/v1/service-events"',
                )
                assert served > 0, f"{name} got no service event through the proxy"
            duplicates = sum(
                [
                    await running.metric(
                        client, n, 'qanagat_telegram_updates_refused_total{reason="duplicate"}'
                    )
                    for n in ("bot1", "bot2")
                ]
            )
            assert duplicates >= len(citizens)

            # The chain keepers of the server processes count and chain every completion.
            async def chained() -> bool:
                async with session_factory() as session:
                    return not await session.scalar(select(func.count()).select_from(LedgerPending))

            async with asyncio.timeout(30):
                while not await chained():  # noqa: ASYNC110 (another process's work)
                    await asyncio.sleep(0.3)

    async with session_factory() as session:
        # (each server also made a demo invitation of its own for its start-up message)
        events_stored = await session.scalar(
            select(func.count()).where(
                ServiceEvent.external_id.startswith("linked-")
                | ServiceEvent.external_id.startswith("printed-")
            )
        )
        per_invitation = list(
            await session.execute(
                select(Response.invitation_id, func.count())
                .where(Response.status == ResponseStatus.COMPLETED)
                .group_by(Response.invitation_id)
            )
        )
        outbox = list(await session.scalars(select(InvitationDelivery)))
        verification = await chain.verify(session)
        completed = Response.status == ResponseStatus.COMPLETED
        completions = await session.scalar(select(func.count()).where(completed))
        invited_completions = await session.scalar(
            select(func.count()).where(completed, Response.service_event_id.is_not(None))
        )
        funnel_completed = await session.scalar(select(func.sum(FunnelDaily.completed)))
        # Counted or, flagged, counted as excluded: each completion once either way.
        counted = await session.scalar(
            select(func.sum(DailyRollup.count)).where(
                (DailyRollup.metric == "responses")
                | ((DailyRollup.metric == "flagged") & (DailyRollup.value_key == "any"))
            )
        )
    assert events_stored == LINKED + PRINTED  # the batches sent twice created nothing twice
    assert len(per_invitation) == LINKED + PRINTED  # none lost
    assert all(count == 1 for _, count in per_invitation)  # none twice
    assert [row.status for row in outbox] == [DeliveryStatus.SENT] * LINKED
    for citizen in linked:  # one invitation message each
        messages = fake.chat(citizen.id).messages.values()
        assert sum(invitation_token(m) is not None for m in messages) == 1
    assert verification.ok and verification.entries == LINKED + PRINTED, verification
    assert counted == completions
    assert funnel_completed == invited_completions
