"""Telegram bot throughput and latency, against a bare aiogram echo bot in the same closed loop.

Run it from the project root; PostgreSQL and Redis must be reachable, nothing leaves 127.0.0.1::

    .venv/bin/python -m benchmarks.bot_throughput            # full run, about 1.5 minutes
    .venv/bin/python -m benchmarks.bot_throughput --quick    # smoke test (50 users), under 30 s
    .venv/bin/python -m benchmarks.bot_throughput --redis-url ""    # the bot without Redis

How it is run (throughput in a closed loop, latency in an open loop, baseline in the same loop):

- Each server under test runs in a process of its own: this script started again with
  ``--serve survey`` (the whole app, ``qanagat.app.build_app``, Telegram in webhook mode, on a
  throwaway PostgreSQL database ``qanagat_bench_<random>`` created for the run and dropped after
  it, and Redis ``--redis-url``, flushed first) or ``--serve echo`` (a bare aiogram echo bot:
  one ``@router.message()`` handler doing ``await message.answer(message.text)``, served the
  same way: aiohttp, aiogram's ``SimpleRequestHandler(handle_in_background=False)``, the same
  secret token check). Both run on asyncio's default loop (no uvloop), without access log and
  with logging at WARNING, and both are up for the whole run.
- This (parent) process is the load generator and also serves the fake Telegram Bot API the
  bots call (``tests.fake_telegram.FakeTelegram``, with its call log bounded), so neither
  server shares its event loop with the load. The load generator POSTs updates straight to
  the webhook with the secret header, as Telegram does, and reads the button to press next
  from the message the bot sent or edited on the fake.

What is measured:

1. Throughput, closed loop, in alternating slices: ``--users`` citizens (distinct Telegram
   ids) per side, each sending its next update as soon as the webhook answered the previous
   one. After a warm-up of both sides (the survey's lasts until every citizen is past its
   first contact, 20 s more at most), ``--slices`` slices of ``--slice`` seconds run one after
   the other, survey and echo in turn, the order turned round every pair (S E, E S, S E, ...),
   so that both sides see the same machine even when its speed drifts (it is shared). Each
   slice starts with ``--ramp`` unmeasured seconds; then the updates finished in the slice are
   counted, and the CPU time every process used meanwhile is read from /proc.
   A survey citizen sends ``/start <invitation token>``, picks a language the first time the
   bot sees them, presses an answer for each question (overall 4-5, the default path; one
   survey in ten rates 1-2 and goes through the multiple-choice reasons and the complaint
   question), skips the comment and starts again with a fresh invitation; its updates (start,
   language, answers, ticks) are counted. An echo user sends text messages.
   ``ratio`` = survey updates/s over all survey slices / echo updates/s over all echo slices;
   ``ratio_pairs`` gives it for each pair of neighbouring slices. ``p99_ms_saturated`` is the
   p99 latency over the survey slices. ``cpu_ms_per_update_survey`` / ``_echo`` are the server
   process's CPU time over its slices divided by the updates it handled in them;
   ``cpu_ms_per_update_survey_postgres`` adds what the PostgreSQL backends serving the
   benchmark's database used per survey update.
2. Survey latency, open loop: the same citizens carry on; an update starts every 1/``--rate`` s
   on schedule, by whichever citizen is idle (waiting for one counts), whether or not earlier
   ones have finished; latency runs from the scheduled start to the webhook's answer. ``p50_ms``
   and ``p99_ms`` cover ``--duration`` seconds after up to 5 s of warm-up. An overloaded server
   is given 10 s after the end; updates that could not start by then count with the time they
   waited (the report says OVERLOADED).

The survey server judges completions by the anti-gaming rules the app would use
(``QANAGAT_ANTI_GAMING_RULES``, the shipped ones by default). Its citizens answer in
milliseconds and start survey after survey, so the shipped rules flag every one of its
completions, and each takes the flagging path (the bursts' earlier responses looked up and
flagged, exclusions counted); ``QANAGAT_ANTI_GAMING_RULES=tests/lenient_rules.yaml`` runs the
path of a completion nobody flags. The JSON says which (``anti_gaming_rules``).

The last line printed is one JSON object with these figures, ``others_cpu_pct`` (the CPU the
machine spent on other work during the slices, % of one core) and the load average; the lines
before it give each slice, percentiles per kind of update, CPU use per process and anything
that went wrong. ``--profile DIR`` runs each server under cProfile and writes
``DIR/<survey|echo>.prof``; that slows them down, so the figures of such a run are not
comparable (a sampling profiler attached from outside, py-spy, disturbs them far less).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import logging
import math
import os
import random
import secrets
import signal
import socket
import sys
import tempfile
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # also runnable as `python benchmarks/bot_throughput.py`
    sys.path.insert(0, str(ROOT))

JSON = dict[str, Any]
TOKEN = "100000:BENCH"
WEBHOOK_SECRET = "bench-Secret_token-1-0123456789abcdef"
SECRET_KEY = "benchmark-secret-key-0123456789-abcdefghijklmnop"
DEFAULT_DATABASE_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"
LANGUAGES = ("kk", "ru", "en")
LOW_RATING_SHARE = 0.1  # surveys that rate the service 1-2 and take the reasons branch
WEBHOOK_PATH = "/telegram/webhook"  # bot.telegram.runner.WEBHOOK_PATH; the echo bot uses it too
SURVEY_USER_BASE = 710_000_000
ECHO_USER_BASE = 720_000_000


# ------------------------------------------------------------------------------- servers


def serve(args: argparse.Namespace) -> None:
    """The server under test, in this process (started by the parent with --serve)."""
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    app = survey_app(args) if args.serve == "survey" else echo_app(args)
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    try:
        web.run_app(
            app,
            host="127.0.0.1",
            port=args.port,
            access_log=None,
            print=None,
            shutdown_timeout=2.0,
        )
    finally:
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(str(Path(args.profile) / f"{args.serve}.prof"))


def survey_app(args: argparse.Namespace) -> web.Application:
    """The whole app, as `qanagat serve` composes it, with the bot in webhook mode."""
    from core.settings import Settings
    from qanagat.app import build_app, settle_heap

    settings = Settings(
        database_url=args.database_url,
        redis_url=args.redis_url or None,
        secret_key=SECRET_KEY,
        public_url=f"http://127.0.0.1:{args.port}",
        port=args.port,
        telegram_token=TOKEN,
        telegram_api_url=args.api_url,
        telegram_mode="webhook",
        telegram_webhook_secret=WEBHOOK_SECRET,
    )
    app = build_app(settings)
    settle_heap()  # as `qanagat serve` does
    return app


def echo_app(args: argparse.Namespace) -> web.Application:
    """A bare aiogram 3 echo bot on the same kind of webhook server."""
    from aiogram import Bot, Dispatcher, Router
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram.types import Message
    from aiogram.webhook.aiohttp_server import SimpleRequestHandler

    router = Router()

    @router.message()
    async def echo(message: Message) -> None:
        await message.answer(message.text or "?")

    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(args.api_url)))
    app = web.Application()
    SimpleRequestHandler(
        dispatcher=dispatcher, bot=bot, secret_token=WEBHOOK_SECRET, handle_in_background=False
    ).register(app, path=WEBHOOK_PATH)

    async def register(_app: web.Application) -> AsyncIterator[None]:
        await bot.set_webhook(
            f"http://127.0.0.1:{args.port}{WEBHOOK_PATH}",
            secret_token=WEBHOOK_SECRET,
            allowed_updates=dispatcher.resolve_used_update_types(),
        )
        yield
        await bot.session.close()

    app.cleanup_ctx.append(register)
    return app


# ------------------------------------------------------------------------------- database


@dataclass
class Database:
    url: str
    drop: Callable[[], Coroutine[Any, Any, None]]


async def create_database(base_url: str) -> Database:
    """A throwaway database `qanagat_bench_<random>` on the server of `base_url`."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.pool import NullPool

    base = make_url(base_url)
    name = f"qanagat_bench_{secrets.token_hex(6)}"
    admin = create_async_engine(base, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    async with admin.connect() as connection:
        await connection.execute(text(f'CREATE DATABASE "{name}"'))

    async def drop() -> None:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()

    return Database(base.set(database=name).render_as_string(hide_password=False), drop)


async def prepare_database(url: str, invitations: int) -> list[str]:
    """Tables, one akimat with services and offices, and `invitations` fresh invitation tokens."""
    from sqlalchemy import insert
    from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

    from core.clock import utcnow
    from core.identity import token_hash
    from core.invitations import fresh_token
    from core.models import (
        Agency,
        AgencyKind,
        Base,
        DeliveryChannel,
        Invitation,
        PublicService,
        ServiceEvent,
        ServicePoint,
    )

    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
        async with AsyncSession(engine, expire_on_commit=False) as session:
            agency = Agency(
                code="ALA",
                kind=AgencyKind.LOCAL,
                region="ALA",
                name_kk="Алматы қаласының әкімдігі",
                name_ru="Акимат города Алматы",
                name_en="Akimat of Almaty",
            )
            session.add(agency)
            await session.flush()
            services = [
                PublicService(
                    code=f"ALA-S{n}",
                    agency_id=agency.id,
                    name_kk=f"Мемлекеттік қызмет №{n}",
                    name_ru=f"Государственная услуга №{n}",
                    name_en=f"Public service No {n}",
                )
                for n in range(1, 5)
            ]
            offices = [
                ServicePoint(
                    code=f"ALA-0{n}",
                    agency_id=agency.id,
                    region="ALA",
                    name_kk=f"№{n} ХҚКО",
                    name_ru=f"ЦОН №{n}",
                    name_en=f"Service centre No {n}",
                )
                for n in range(1, 4)
            ]
            session.add_all([*services, *offices])
            await session.commit()
            now = utcnow()
            rng = random.Random(7)
            events = [
                {
                    "external_id": f"bench-{n}",
                    "service_id": rng.choice(services).id,
                    "service_point_id": rng.choice(offices).id,
                    "delivery_channel": DeliveryChannel.SERVICE_CENTRE,
                    "delivered_at": now,
                }
                for n in range(invitations)
            ]
            result = await session.execute(
                insert(ServiceEvent).returning(ServiceEvent.id, ServiceEvent.external_id),
                events,
            )
            event_ids = dict((external, id_) for id_, external in result.all())
            tokens = [fresh_token() for _ in range(invitations)]
            expires = now + timedelta(hours=72)
            await session.execute(
                insert(Invitation),
                [
                    {
                        "service_event_id": event_ids[f"bench-{n}"],
                        "token_hash": token_hash(token),
                        "survey_id": "post_service",
                        "expires_at": expires,
                    }
                    for n, token in enumerate(tokens)
                ],
            )
            await session.commit()
            return tokens
    finally:
        await engine.dispose()


async def flush_redis(url: str) -> None:
    """Empty the benchmark's Redis database (none given: the app runs without Redis)."""
    if not url:
        return
    from redis.asyncio import Redis

    client = Redis.from_url(url)
    try:
        await client.flushdb()
    finally:
        await client.aclose()


# ------------------------------------------------------------------------------- fake Bot API


def lean_fake_telegram() -> Any:
    """The fake Bot API with bounded memory: it keeps the last calls and chat events only."""
    from tests.fake_telegram import FakeTelegram

    class LeanFakeTelegram(FakeTelegram):
        def __init__(self) -> None:
            super().__init__()
            self.calls = deque(maxlen=100)  # type: ignore[assignment]
            self.api_errors: Counter[str] = Counter()
            self.webhooks_set: set[str] = set()

        async def _execute(
            self, token: str, method: str, params: JSON, via: Any
        ) -> tuple[int, JSON]:
            status, body = await super()._execute(token, method, params, via)
            if status != 200:
                self.api_errors[f"{method}: {body.get('description')}"] += 1
            elif method.lower() == "setwebhook" and params.get("secret_token") == WEBHOOK_SECRET:
                self.webhooks_set.add(str(params.get("url")))
            return status, body

        def expect_callback_query(self, query_id: str, user_id: int) -> None:
            # As FakeUser does: the bot may answer the query over HTTP (answerCallbackQuery).
            self._callback_queries[query_id] = user_id

        def done_with_callback_query(self, query_id: str) -> None:
            self._callback_queries.pop(query_id, None)
            self.callback_answers.pop(query_id, None)

    return LeanFakeTelegram()


# ------------------------------------------------------------------------------- citizens


@dataclass
class Counters:
    updates: int = 0
    http_errors: int = 0
    no_reply: int = 0
    no_ack: int = 0
    surveys_started: int = 0
    surveys_completed: int = 0
    refused_starts: int = 0
    out_of_invitations: int = 0
    last_errors: deque[str] = field(default_factory=lambda: deque(maxlen=5))


class Webhook:
    """Posts updates to the server's webhook the way Telegram does."""

    def __init__(self, http: aiohttp.ClientSession, url: str, secret: str | None) -> None:
        self.http = http
        self.url = url
        self.headers = {"Content-Type": "application/json"}
        if secret:
            self.headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        self._ids = iter(range(1, 1 << 62))

    async def post(self, update: JSON, counters: Counters) -> bytes:
        update["update_id"] = next(self._ids)
        body = json.dumps(update, ensure_ascii=False).encode()
        async with self.http.post(self.url, data=body, headers=self.headers) as response:
            reply = await response.read()
            if response.status != 200:
                counters.http_errors += 1
                counters.last_errors.append(f"HTTP {response.status}: {reply[:200]!r}")
        return reply


class Citizen:
    """One Telegram user taking surveys (or chatting to the echo bot)."""

    def __init__(self, fake: Any, user_id: int, rng: random.Random) -> None:
        self.fake = fake
        self.id = user_id
        self.rng = rng
        self.language = LANGUAGES[user_id % 3]
        self.user: JSON = {
            "id": user_id,
            "is_bot": False,
            "first_name": "Citizen",
            "language_code": self.language,
        }
        self.chat = fake.chat(user_id)
        self.keyboard: Any = None  # the bot message whose buttons we press next
        self.low_rating = False
        self.ticks: list[str] | None = None
        self.said = 0
        self.answered = 0

    def _message(self, text: str, command: bool = False) -> JSON:
        message: JSON = {
            "message_id": self.chat.take_message_id(),
            "from": self.user,
            "chat": self.chat.chat,
            "date": int(time.time()),
            "text": text,
        }
        if command:
            length = len(text.split(maxsplit=1)[0])
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return {"message": message}

    def _press(self, data: str) -> tuple[JSON, str]:
        query_id = f"{self.id}-{self.chat.version}-{self.rng.getrandbits(32)}"
        self.fake.expect_callback_query(query_id, self.id)
        query = {
            "id": query_id,
            "from": self.user,
            "message": dict(self.keyboard.raw),
            "chat_instance": f"-{self.id}777",
            "data": data,
        }
        return {"callback_query": query}, query_id

    def next_survey_update(self, tokens: list[str], counters: Counters) -> tuple[str, JSON, str]:
        """(kind, update, callback query id or "") of the next thing this citizen does."""
        if self.keyboard is None:
            if not tokens:
                counters.out_of_invitations += 1
                raise LookupError("out of invitations")
            # Keep the chat small: the bot only ever edits its latest card.
            while len(self.chat.messages) > 1:
                del self.chat.messages[next(iter(self.chat.messages))]
            self.low_rating = self.rng.random() < LOW_RATING_SHARE
            counters.surveys_started += 1
            return "start", self._message(f"/start {tokens.pop()}", command=True), ""
        data = [
            str(button["callback_data"])
            for row in self.keyboard.raw["reply_markup"]["inline_keyboard"]
            for button in row
            if "callback_data" in button
        ]
        kind, choice = self._choose(data)
        update, query_id = self._press(choice)
        return kind, update, query_id

    def _choose(self, data: list[str]) -> tuple[str, str]:
        if data[0].startswith("l:"):
            return "language", f"l:{self.language}"
        toggles = [d for d in data if d.startswith("t:")]
        if toggles:
            if self.ticks is None:
                self.ticks = self.rng.sample(toggles, k=self.rng.randint(1, 2))
            if self.ticks:
                return "tick", self.ticks.pop()
            self.ticks = None
            return "answer", next(d for d in data if d.startswith("d:"))
        answers = [d for d in data if d.startswith("a:")]
        values = [d.rsplit(":", 1)[1] for d in answers]
        if set(values) == {"1", "2", "3", "4", "5"}:
            question = answers[0].split(":")[2]
            wanted: tuple[str, ...]
            if question == "0":  # overall satisfaction decides the path
                wanted = ("1", "2") if self.low_rating else ("4", "5")
            else:
                wanted = ("3", "4", "5")
            value = self.rng.choice(wanted)
            return "answer", next(d for d in answers if d.endswith(f":{value}"))
        given = [d for d, v in zip(answers, values, strict=True) if v]
        return "answer", self.rng.choice(given or answers)

    def observe_survey(self, before: int, counters: Counters) -> None:
        """After the webhook answered: what the bot shows now decides the next step."""
        chat = self.chat
        if chat.version == before:
            counters.no_reply += 1
        chat.events.clear()
        chat.log.clear()
        last = next(reversed(chat.messages.values()), None)  # the card (the thanks with the rating)
        markup = last.raw.get("reply_markup") if last is not None else None
        if markup and markup.get("inline_keyboard"):
            self.keyboard = last
            return
        self.keyboard = None
        self.ticks = None
        shown = (last.raw.get("text") or "") if last is not None else ""
        if shown.startswith("✅"):
            counters.surveys_completed += 1
        else:
            counters.refused_starts += 1
            counters.last_errors.append(f"chat {self.id}: {shown[:120]!r}")

    def next_echo_update(self) -> JSON:
        self.said += 1
        return self._message(f"Hello, bot! This is message {self.said} from {self.id}.")

    def observe_echo(self, before: int, counters: Counters) -> None:
        chat = self.chat
        if chat.version == before:
            counters.no_reply += 1
        chat.events.clear()
        chat.log.clear()
        chat.messages.clear()


@dataclass
class Sample:
    start: float  # scheduled (open loop) or actual (closed loop) start, loop time
    done: float
    kind: str

    @property
    def latency_ms(self) -> float:
        return (self.done - self.start) * 1000


async def survey_step(
    citizen: Citizen,
    webhook: Webhook,
    tokens: list[str],
    counters: Counters,
    samples: list[Sample],
    scheduled: float | None = None,
) -> None:
    loop = asyncio.get_running_loop()
    kind, update, query_id = citizen.next_survey_update(tokens, counters)
    if kind == "answer":
        citizen.answered += 1
    before = citizen.chat.version
    started = loop.time() if scheduled is None else scheduled
    reply = await webhook.post(update, counters)
    samples.append(Sample(started, loop.time(), kind))
    counters.updates += 1
    if query_id:
        # A pressed button is acknowledged in the webhook's answer or by answerCallbackQuery.
        if b"answerCallbackQuery" not in reply and query_id not in citizen.fake.callback_answers:
            counters.no_ack += 1
        citizen.fake.done_with_callback_query(query_id)
    citizen.observe_survey(before, counters)


async def echo_step(
    citizen: Citizen, webhook: Webhook, counters: Counters, samples: list[Sample]
) -> None:
    loop = asyncio.get_running_loop()
    update = citizen.next_echo_update()
    before = citizen.chat.version
    started = loop.time()
    await webhook.post(update, counters)
    samples.append(Sample(started, loop.time(), "echo"))
    counters.updates += 1
    citizen.observe_echo(before, counters)


@contextlib.asynccontextmanager
async def acting(
    citizens: list[Citizen], step: Callable[[Citizen], Awaitable[None]]
) -> AsyncIterator[None]:
    """Inside the block, every citizen acts again as soon as it was answered (a closed loop);
    at its end each finishes what it was doing."""
    running = True

    async def run(citizen: Citizen) -> None:
        with contextlib.suppress(LookupError):  # out of invitations
            while running:
                await step(citizen)

    tasks = [asyncio.create_task(run(citizen)) for citizen in citizens]
    try:
        yield
    finally:
        running = False
        await asyncio.gather(*tasks)


async def warm_up(
    citizens: list[Citizen],
    step: Callable[[Citizen], Awaitable[None]],
    seconds: float,
    settle: float = 0.0,
    settled: asyncio.Event | None = None,
) -> float:
    """The closed loop for `seconds` s and until `settled` is set (waiting at most `settle` s
    more). Returns how long it lasted."""
    loop = asyncio.get_running_loop()
    began = loop.time()
    async with acting(citizens, step):
        await asyncio.sleep(seconds)
        if settled is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(settled.wait(), timeout=settle)
    return loop.time() - began


@dataclass
class Side:
    """One server under test in the closed loop: its citizens, and what its slices measured."""

    kind: str
    server: Server
    citizens: list[Citizen]
    step: Callable[[Citizen], Awaitable[None]]
    counters: Counters
    samples: list[Sample] = field(default_factory=list)
    measured: list[Sample] = field(default_factory=list)  # the samples inside the slices
    seconds: float = 0.0
    cpu: Counter[str] = field(default_factory=Counter)  # CPU seconds by group, over the slices
    rates: list[float] = field(default_factory=list)  # updates/s of each slice

    @property
    def throughput(self) -> float:
        return len(self.measured) / self.seconds if self.seconds else math.nan

    def cpu_ms_per_update(self, group: str = "server") -> float:
        return 1000 * self.cpu[group] / len(self.measured) if self.measured else math.nan


async def closed_slice(side: Side, ramp: float, seconds: float, database: str | None) -> str:
    """One slice of the closed loop: every citizen of `side` acts again as soon as it was
    answered; after `ramp` s the updates finished within the next `seconds` s are counted, with
    the CPU every process used meanwhile. Returns a line describing the slice."""
    loop = asyncio.get_running_loop()
    async with acting(side.citizens, side.step):
        await asyncio.sleep(ramp)
        meter = CpuMeter(side.server.process.pid, database)
        begin = loop.time()
        await asyncio.sleep(seconds)
        end = loop.time()
        used = meter.used()
    measured = window(side.samples, begin, end, by="done")
    elapsed = end - begin
    side.measured += measured
    side.seconds += elapsed
    side.cpu.update(used)
    side.rates.append(len(measured) / elapsed)
    server_ms = 1000 * used["server"] / len(measured) if measured else math.nan
    return (
        f"{side.kind:>6} {len(measured) / elapsed:7.1f} updates/s, server "
        f"{server_ms:.2f} ms CPU/update ({used['server'] / elapsed * 100:.0f}% of a core), "
        f"machine {used['machine'] / elapsed * 100:.0f}% busy, "
        f"others {others(used) / elapsed * 100:.0f}%"
    )


def slice_order(slices: int) -> list[str]:
    """Survey and echo slices in pairs, the order turned round every pair (S E, E S, S E, ...),
    so that a machine getting slower or faster during the run weighs on both sides alike."""
    order: list[str] = []
    for pair in range(slices // 2):
        order += ["survey", "echo"] if pair % 2 == 0 else ["echo", "survey"]
    return order


def pair_ratios(survey_rates: list[float], echo_rates: list[float]) -> list[float]:
    """Survey/echo throughput of each pair of neighbouring slices."""
    return [
        survey / echo if echo else math.nan
        for survey, echo in zip(survey_rates, echo_rates, strict=True)
    ]


async def open_loop(
    citizens: list[Citizen],
    step: Callable[[Citizen, float], Awaitable[None]],
    rate: float,
    seconds: float,
    overrun: float,
) -> tuple[float, float, list[float]]:
    """One action every 1/rate s on schedule, by an idle citizen (waiting for one counts as
    latency). Scheduling gives up `overrun` s after the end; returns (start, end, the scheduled
    times of actions that could not even start by then)."""
    loop = asyncio.get_running_loop()
    idle: asyncio.Queue[Citizen] = asyncio.Queue()
    for citizen in citizens:
        idle.put_nowait(citizen)
    tasks: set[asyncio.Task[None]] = set()
    start = loop.time() + 0.05
    end = start + seconds
    unstarted: list[float] = []

    async def run(citizen: Citizen, scheduled: float) -> None:
        try:
            await step(citizen, scheduled)
        except LookupError:
            return
        idle.put_nowait(citizen)

    for n in itertools.count():
        scheduled = start + n / rate
        if scheduled >= end:
            break
        delay = scheduled - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        try:
            citizen = await asyncio.wait_for(idle.get(), timeout=end + overrun - loop.time())
        except TimeoutError:
            unstarted = [start + k / rate for k in range(n, math.ceil(seconds * rate))]
            break
        task = asyncio.create_task(run(citizen, scheduled))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    await asyncio.gather(*tasks)
    return start, end, unstarted


# ------------------------------------------------------------------------------- measuring


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); NaN when there is nothing."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def window(samples: list[Sample], begin: float, end: float, *, by: str) -> list[Sample]:
    """Samples that finished (`by="done"`) or were scheduled (`by="start"`) in [begin, end)."""
    if by == "done":
        return [s for s in samples if begin <= s.done < end]
    return [s for s in samples if begin <= s.start < end]


CPU_GROUPS = ("server", "load generator", "postgres", "postgres, others", "redis")


class CpuMeter:
    """CPU seconds used since the meter was made, by group of processes: the server under
    test; this process (the load generator and the fake Bot API); the PostgreSQL backends
    serving the benchmark's database (`postgres`); the rest of PostgreSQL (other databases on a
    shared server, its background processes); Redis (all its databases); and the whole machine
    (`machine`)."""

    def __init__(self, server_pid: int, database: str | None = None) -> None:
        self.server_pid = server_pid
        self.database = database.encode() if database else None
        self.tick = os.sysconf("SC_CLK_TCK")
        self._wall, self._machine, self._processes = self._read()

    def _group(self, pid: int, comm: str) -> str | None:
        if pid == self.server_pid:
            return "server"
        if pid == os.getpid():
            return "load generator"
        if comm == "postgres":
            if self.database is None:
                return "postgres"
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                    title = cmdline.read()
            except OSError:
                return "postgres, others"
            # A backend's title is "postgres: <user> <database> <client> <activity>".
            return "postgres" if self.database in title.split() else "postgres, others"
        if comm.startswith("redis-server"):
            return "redis"
        return None

    def _read(self) -> tuple[float, float, dict[int, tuple[str, float]]]:
        processes: dict[int, tuple[str, float]] = {}
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/stat") as stat:
                    raw = stat.read()
            except OSError:
                continue
            pid = int(entry.name)
            group = self._group(pid, raw[raw.find("(") + 1 : raw.rfind(")")])
            if group is None:
                continue
            fields = raw[raw.rfind(")") + 2 :].split()
            processes[pid] = (group, (int(fields[11]) + int(fields[12])) / self.tick)
        with open("/proc/stat") as stat:
            cpu = [int(v) for v in stat.readline().split()[1:9]]
        machine = (sum(cpu) - cpu[3] - cpu[4]) / self.tick  # all but idle and iowait
        return time.monotonic(), machine, processes

    def used(self) -> dict[str, float]:
        """CPU seconds by group since the meter was made, and `wall`, the seconds elapsed."""
        wall, machine, processes = self._read()
        used = dict.fromkeys(CPU_GROUPS, 0.0)
        for pid, (group, seconds) in processes.items():
            before = self._processes.get(pid)
            used[group] += seconds - (before[1] if before else 0.0)
        used["machine"] = machine - self._machine
        used["wall"] = wall - self._wall
        return used


def others(used: Mapping[str, float]) -> float:
    """CPU seconds the machine spent on work other than the benchmark's own processes."""
    ours = used["server"] + used["load generator"] + used["postgres"] + used["redis"]
    return max(0.0, used["machine"] - ours)


def shares(used: Mapping[str, float], seconds: float) -> str:
    """CPU use as % of one core over `seconds`."""
    parts = [f"{key} {used[key] / seconds * 100:.0f}%" for key in (*CPU_GROUPS, "machine")]
    return f"CPU, % of one core (machine has {os.cpu_count()}): " + ", ".join(parts)


def machine_busy(seconds: float = 0.5) -> float:
    """How busy the machine is before we start (other work distorts the figures), % of a core."""

    def read() -> float:
        with open("/proc/stat") as stat:
            cpu = [int(v) for v in stat.readline().split()[1:9]]
        return float(sum(cpu) - cpu[3] - cpu[4])

    before = read()
    time.sleep(seconds)
    return (read() - before) / os.sysconf("SC_CLK_TCK") / seconds * 100


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    """A server under test, in a process of its own (this script with --serve)."""

    kind: str
    port: int
    process: asyncio.subprocess.Process
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{WEBHOOK_PATH}"

    async def ready(self, fake: Any, timeout: float = 120.0) -> None:  # noqa: ASYNC109
        """Wait until it registered its webhook on the fake and listens."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not (self.url in fake.webhooks_set and await accepts(self.port)):
            if self.process.returncode is not None:
                raise RuntimeError(f"the {self.kind} server exited:\n{self.log_tail()}")
            if loop.time() > deadline:
                raise RuntimeError(f"the {self.kind} server did not start:\n{self.log_tail()}")
            await asyncio.sleep(0.05)

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(self.process.wait(), timeout=20)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


async def spawn(
    kind: str, args: argparse.Namespace, api_url: str, database_url: str, logs: Path
) -> Server:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "benchmarks.bot_throughput",
        "--serve",
        kind,
        "--port",
        str(port),
        "--api-url",
        api_url,
        "--database-url",
        database_url,
        "--redis-url",
        args.redis_url,
    ]
    if args.profile:
        command += ["--profile", args.profile]
    log = logs / f"{kind}.log"
    log_fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        process = await asyncio.create_subprocess_exec(
            *command, cwd=ROOT, stdout=log_fd, stderr=log_fd
        )
    finally:
        os.close(log_fd)
    return Server(kind, port, process, log)


async def accepts(port: int) -> bool:
    try:
        _reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


def client_session(users: int) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(limit=users + 10, limit_per_host=users + 10)
    return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60))


def log_problems(path: Path) -> str:
    """Errors the server logged (it logs at WARNING and above)."""
    text = path.read_text(errors="replace") if path.exists() else ""
    errors = text.count(" ERROR ") + text.count("Traceback")
    return f"; {errors} errors in the server's log, e.g. {text[:300]!r}" if errors else ""


def anomalies(counters: Counters) -> str:
    issues = [
        f"{name.replace('_', ' ')} {value}"
        for name, value in (
            ("http_errors", counters.http_errors),
            ("no_reply", counters.no_reply),
            ("no_ack", counters.no_ack),
            ("refused_starts", counters.refused_starts),
            ("out_of_invitations", counters.out_of_invitations),
        )
        if value
    ]
    if not issues:
        return "no anomalies"
    return "ANOMALIES: " + ", ".join(issues) + "; last: " + " | ".join(counters.last_errors)


def describe(samples: list[Sample]) -> str:
    latencies = [s.latency_ms for s in samples]
    return (
        f"p50 {percentile(latencies, 50):.1f} ms, p90 {percentile(latencies, 90):.1f} ms, "
        f"p99 {percentile(latencies, 99):.1f} ms, max {max(latencies, default=math.nan):.1f} ms"
    )


def by_kind(samples: list[Sample]) -> str:
    kinds: dict[str, list[float]] = {}
    for sample in samples:
        kinds.setdefault(sample.kind, []).append(sample.latency_ms)
    return "; ".join(
        f"{kind} n={len(values)} p50 {percentile(values, 50):.1f} p99 {percentile(values, 99):.1f}"
        for kind, values in sorted(kinds.items())
    )


def api_errors(fake: Any) -> str:
    if not fake.api_errors:
        return ""
    shown = " | ".join(f"{count}x {error}" for error, count in fake.api_errors.most_common(3))
    return f"  Bot API errors answered to the bot: {shown}"


async def open_loop_latency(
    args: argparse.Namespace, side: Side, webhook: Webhook, tokens: list[str], database: str
) -> tuple[list[Sample], str]:
    """The survey at `--rate` updates/s offered, on schedule: latency from the scheduled start."""
    loop = asyncio.get_running_loop()
    opened: list[Sample] = []

    async def open_step(citizen: Citizen, scheduled: float) -> None:
        await survey_step(citizen, webhook, tokens, side.counters, opened, scheduled)

    meter = CpuMeter(side.server.process.pid, database)
    start, end, unstarted = await open_loop(
        side.citizens, open_step, args.rate, args.open_warmup + args.duration, args.overrun
    )
    used = meter.used()
    begin = start + args.open_warmup
    latency = window(opened, begin, end, by="start")
    # Updates that could not even start: their latency is at least the time they waited.
    given_up = loop.time()
    latency += [Sample(at, given_up, "unstarted") for at in unstarted if at >= begin]
    lines = [
        f"survey, open loop at {args.rate:g} updates/s offered, latency from the scheduled "
        f"start: {describe(latency)} ({len(latency)} in {args.duration:g} s after "
        f"{args.open_warmup:g} s warm-up)",
        f"  by kind: {by_kind(latency)}",
    ]
    if unstarted:
        lines.append(
            f"  OVERLOADED: {len(unstarted)} scheduled updates found no idle citizen within "
            f"{args.overrun:g} s after the end; counted with the time they waited"
        )
    lines.append(f"  {shares(used, used['wall'])}")
    return latency, "\n".join(lines)


async def measure(
    args: argparse.Namespace,
    fake: Any,
    servers: dict[str, Server],
    tokens: list[str],
    database: str,
    http: aiohttp.ClientSession,
) -> JSON:
    rng = random.Random(1)
    survey_webhook = Webhook(http, servers["survey"].url, WEBHOOK_SECRET)
    echo_webhook = Webhook(http, servers["echo"].url, WEBHOOK_SECRET)
    survey_counters, echo_counters = Counters(), Counters()
    survey_citizens = [Citizen(fake, SURVEY_USER_BASE + n, rng) for n in range(args.users)]
    echo_citizens = [Citizen(fake, ECHO_USER_BASE + n, rng) for n in range(args.users)]
    # The survey's warm-up lasts until every citizen is past its first contact (language).
    first_contact = {citizen.id for citizen in survey_citizens}
    settled = asyncio.Event()

    async def survey(citizen: Citizen) -> None:
        await survey_step(citizen, survey_webhook, tokens, survey_counters, sides["survey"].samples)
        if citizen.answered and citizen.id in first_contact:
            first_contact.discard(citizen.id)
            if not first_contact:
                settled.set()

    async def echo(citizen: Citizen) -> None:
        await echo_step(citizen, echo_webhook, echo_counters, sides["echo"].samples)

    sides = {
        "survey": Side("survey", servers["survey"], survey_citizens, survey, survey_counters),
        "echo": Side("echo", servers["echo"], echo_citizens, echo, echo_counters),
    }
    warmed = await warm_up(survey_citizens, survey, args.warmup, args.settle, settled)
    await warm_up(echo_citizens, echo, args.warmup)
    print(
        f"warm-up: survey {warmed:.1f} s (until every citizen chose a language), echo "
        f"{args.warmup:g} s; then {args.slices} closed-loop slices of {args.slice:g} s, "
        f"{args.users} users each, counted after {args.ramp:g} s of each:"
    )
    load_before = os.getloadavg()[0]
    for n, kind in enumerate(slice_order(args.slices), start=1):
        line = await closed_slice(sides[kind], args.ramp, args.slice, database)
        print(f"  slice {n:2d} {line}")
    survey_side, echo_side = sides["survey"], sides["echo"]
    pairs = pair_ratios(survey_side.rates, echo_side.rates)
    ratio = survey_side.throughput / echo_side.throughput
    for side in (survey_side, echo_side):
        print(
            f"{side.kind}, closed loop, {args.users} users: {side.throughput:.1f} updates/s "
            f"({len(side.measured)} in {side.seconds:.1f} s over {len(side.rates)} slices); "
            f"{describe(side.measured)}"
        )
        if side.kind == "survey":
            print(f"  by kind: {by_kind(side.measured)}")
        print(
            f"  CPU per update: server {side.cpu_ms_per_update():.3f} ms, PostgreSQL backends "
            f"of the benchmark's database {side.cpu_ms_per_update('postgres'):.3f} ms, Redis "
            f"{side.cpu_ms_per_update('redis'):.3f} ms (Redis's figure includes other clients)"
        )
        print(f"  {shares(side.cpu, side.seconds)}")
    slices_cpu = survey_side.cpu + echo_side.cpu
    slices_s = survey_side.seconds + echo_side.seconds
    print(
        f"ratio survey/echo {ratio:.3f} (pairs of neighbouring slices: "
        f"{', '.join(f'{r:.3f}' for r in pairs)}); echo CPU/update over survey CPU/update "
        f"{echo_side.cpu_ms_per_update() / survey_side.cpu_ms_per_update():.3f}; during the "
        f"slices other work used {others(slices_cpu) / slices_s * 100:.0f}% of a core, "
        f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after"
    )

    latency, report = await open_loop_latency(args, survey_side, survey_webhook, tokens, database)
    print(report)
    print(
        f"  surveys started {survey_counters.surveys_started}, completed "
        f"{survey_counters.surveys_completed}; survey {anomalies(survey_counters)}"
        f"{log_problems(survey_side.server.log)}; echo {anomalies(echo_counters)}"
        f"{log_problems(echo_side.server.log)}"
    )
    if errors := api_errors(fake):
        print(errors)
    latencies = [s.latency_ms for s in latency]
    return {
        "ratio": round(ratio, 3),
        "p50_ms": round(percentile(latencies, 50), 1),
        "p99_ms": round(percentile(latencies, 99), 1),
        "p99_ms_saturated": round(percentile([s.latency_ms for s in survey_side.measured], 99), 1),
        "cpu_ms_per_update_survey": round(survey_side.cpu_ms_per_update(), 3),
        "cpu_ms_per_update_echo": round(echo_side.cpu_ms_per_update(), 3),
        "cpu_ms_per_update_survey_postgres": round(survey_side.cpu_ms_per_update("postgres"), 3),
        "survey_answers_per_s": round(survey_side.throughput, 1),
        "echo_updates_per_s": round(echo_side.throughput, 1),
        "ratio_pairs": [round(r, 3) for r in pairs],
        "slices": args.slices,
        "slice_s": args.slice,
        "users": args.users,
        "others_cpu_pct": round(others(slices_cpu) / slices_s * 100),
        "load_average": round(os.getloadavg()[0], 1),
        "anti_gaming_rules": anti_gaming_rules(),
    }


async def benchmark(args: argparse.Namespace) -> JSON:
    # Enough invitations for a fast server (a survey is 11-12 updates) and the open loop.
    closed_s = args.warmup + args.settle + args.slices / 2 * (args.slice + args.ramp)
    open_s = args.open_warmup + args.duration
    invitations = int(closed_s * 3000 / 11 + open_s * args.rate / 11) + 2 * args.users
    print(
        f"bot throughput: {args.users} users, {args.slices} alternating slices of "
        f"{args.slice:g} s, open loop at {args.rate:g} updates/s for {args.duration:g} s; "
        f"{os.cpu_count()} cores, machine {machine_busy():.0f}% busy before we start, load "
        f"average {os.getloadavg()[0]:.1f}; PostgreSQL {redact(args.database_url)}, "
        f"Redis {args.redis_url or 'none (claims in memory)'}; anti-gaming rules "
        f"{anti_gaming_rules()}"
    )
    begun = time.monotonic()
    database = await create_database(args.database_url)
    name = database.url.rsplit("/", 1)[-1]
    try:
        fake = lean_fake_telegram()
        await fake.start()
        with tempfile.TemporaryDirectory(prefix="qanagat-bench-") as logs:
            # Both servers start (import, connect, setWebhook) while the database is seeded.
            servers = {
                "survey": await spawn("survey", args, fake.url, database.url, Path(logs)),
                "echo": await spawn("echo", args, fake.url, "", Path(logs)),
            }
            try:
                tokens = await prepare_database(database.url, invitations)
                await flush_redis(args.redis_url)
                await asyncio.gather(*(server.ready(fake) for server in servers.values()))
                print(
                    f"  database {name} with {invitations} invitations, both servers up in "
                    f"{time.monotonic() - begun:.1f} s"
                )
                async with client_session(2 * args.users) as http:
                    figures = await measure(args, fake, servers, tokens, name, http)
            finally:
                await asyncio.gather(*(server.stop() for server in servers.values()))
                await fake.stop()
    finally:
        await database.drop()
        await flush_redis(args.redis_url)
    print(
        f"ratio survey/echo {figures['ratio']:.3f} (goal >= 0.5); p99 at {args.rate:g} "
        f"updates/s {figures['p99_ms']:.1f} ms (goal <= 50 ms); took "
        f"{time.monotonic() - begun:.0f} s"
    )
    return figures


def redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def anti_gaming_rules() -> str:
    """The rules the survey server judges completions by (it reads QANAGAT_ANTI_GAMING_RULES,
    as the app does): "shipped", or the file given. With the shipped ones every completion of
    this benchmark is flagged (its citizens answer in milliseconds, survey after survey)."""
    return os.environ.get("QANAGAT_ANTI_GAMING_RULES") or "shipped"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--users", type=int, help="concurrent citizens (200; 50 with --quick)")
    parser.add_argument("--slices", type=int, help="closed-loop slices, even (8; 2 quick)")
    parser.add_argument("--slice", type=float, help="measured s of a slice (4; 1 quick)")
    parser.add_argument("--ramp", type=float, help="unmeasured s before a slice (1; 0.3 quick)")
    parser.add_argument("--warmup", type=float, help="warm-up seconds (5; 1 quick)")
    parser.add_argument("--rate", type=float, default=100.0, help="open-loop updates/s (100)")
    parser.add_argument("--duration", type=float, help="open loop's seconds (20; 2 quick)")
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument(
        "--redis-url", default=DEFAULT_REDIS_URL, help='flushed first; "" runs without Redis'
    )
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--profile", metavar="DIR", help="cProfile the servers into DIR")
    parser.add_argument("--serve", choices=("survey", "echo"), help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--api-url", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    defaults = {"slices": 8, "slice": 4.0, "ramp": 1.0, "warmup": 5.0, "duration": 20.0}
    if args.quick:
        defaults = {"slices": 2, "slice": 1.0, "ramp": 0.3, "warmup": 1.0, "duration": 2.0}
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.slices < 2 or args.slices % 2:
        parser.error("--slices must be an even number, at least 2")
    if args.users is None:
        args.users = 50 if args.quick else 200
    # Longest extra warm-up while citizens make first contact; the open loop's own warm-up;
    # how long the open loop waits for an idle citizen after its end before giving up.
    args.settle = 1.0 if args.quick else 20.0
    args.open_warmup = min(args.warmup, 5.0)
    args.overrun = 2.0 if args.quick else 10.0
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.serve:
        serve(args)
        return
    if args.profile:
        args.profile = str(Path(args.profile).resolve())
        Path(args.profile).mkdir(parents=True, exist_ok=True)
    figures = asyncio.run(benchmark(args))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
