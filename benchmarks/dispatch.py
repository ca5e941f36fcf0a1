"""Invitation delivery rate against Telegram's flood limit, and nothing lost or sent twice.

Run it from the project root; PostgreSQL must be reachable, nothing leaves 127.0.0.1::

    .venv/bin/python -m benchmarks.dispatch                      # 3,000 invitations, about 100 s
    .venv/bin/python -m benchmarks.dispatch --invitations 60     # smoke test, a few seconds

How it is run:

- A throwaway PostgreSQL database ``qanagat_bench_<random>`` is created on the server of
  ``--database-url``, migrated with the project's Alembic revisions, seeded with one akimat,
  a service, an office and ``--invitations`` citizens, each with a known Telegram chat and one
  invitation queued in the outbox (as the integration API leaves them), and dropped at the end.
- This (parent) process serves the fake Bot API (``tests.fake_telegram.FakeTelegram``) with
  its flood limit set to ``--limit`` messages/s: a send beyond it in any one-second window is
  refused with 429 and ``retry_after``, as Telegram does.
- The subject is the real ``qanagat worker`` in a process of its own, pointed at the fake, with
  ``QANAGAT_DELIVERY_RATE_PER_S`` = ``--rate`` (no Redis: it finds the rows by polling, which
  is what it does after a restart).
- The run ends when every chat has its message (or nothing moved for 30 s); after a second
  more, to catch late duplicates, the worker is stopped.

Figures: ``sent_per_s`` = messages Telegram accepted, over the time from the first accepted to
the last (startup is not counted); ``ratio`` = sent_per_s / limit_per_s; ``lost`` = invitations
whose chat got no message; ``duplicates`` = messages beyond one per invitation, plus any message
carrying another chat's token. The last line printed is one JSON object with these figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # also runnable as `python benchmarks/dispatch.py`
    sys.path.insert(0, str(ROOT))

DEFAULT_DATABASE_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
STALL_S = 30.0
# A worker's first message waits for its start-up (imports, database, first poll): on a loaded
# machine that alone can take longer than a stall between two messages.
STARTUP_S = 120.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--invitations", type=int, default=3000)
    parser.add_argument("--limit", type=float, default=30.0, help="the fake's flood limit, /s")
    parser.add_argument("--rate", type=float, default=30.0, help="the dispatcher's rate, /s")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("QANAGAT_TEST_DATABASE_URL") or DEFAULT_DATABASE_URL,
        help="PostgreSQL server (a throwaway database is created on it)",
    )
    return parser.parse_args(argv)


async def seed(url: str, invitations: int) -> dict[int, str]:
    """Migrate, then queue the invitations; the chat id -> token of each."""
    from core.db import create_engine, create_session_factory
    from core.migrate import upgrade_async
    from core.outbox import configure_outbox
    from tests.delivery_fixtures import SECRET, queue_invitations, seed_service

    await upgrade_async(url)
    engine = create_engine(url)
    try:
        sessions = create_session_factory(engine)
        configure_outbox(sessions, SECRET)
        service_id, office_id = await seed_service(sessions)
        queued = []
        for start in range(0, invitations, 500):  # a few transactions, as API batches would be
            count = min(500, invitations - start)
            queued += await queue_invitations(
                sessions, service_id, office_id, count, first_chat=900_000_000 + start
            )
        return {q.chat_id: q.token for q in queued}
    finally:
        await engine.dispose()


async def outbox_statuses(url: str) -> dict[str, int]:
    from sqlalchemy import func, select

    from core.db import create_engine
    from core.models import InvitationDelivery

    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                select(InvitationDelivery.status, func.count()).group_by(InvitationDelivery.status)
            )
            return {str(status): int(count) for status, count in rows}
    finally:
        await engine.dispose()


def start_worker(
    args: argparse.Namespace, url: str, api_url: str, log: Path
) -> subprocess.Popen[bytes]:
    from tests.delivery_fixtures import SECRET, TOKEN

    env = {k: v for k, v in os.environ.items() if not k.startswith("QANAGAT_")}
    env |= {
        "QANAGAT_DATABASE_URL": url,
        "QANAGAT_SECRET_KEY": SECRET.decode(),
        "QANAGAT_TELEGRAM_TOKEN": TOKEN,
        "QANAGAT_TELEGRAM_API_URL": api_url,
        "QANAGAT_TELEGRAM_BOT_USERNAME": "QanagatTestBot",
        "QANAGAT_DELIVERY_RATE_PER_S": str(args.rate),
        "QANAGAT_DELIVERY_POLL_S": "1",
        "QANAGAT_LOG_LEVEL": "WARNING",
    }
    qanagat = Path(sys.executable).parent / "qanagat"
    with log.open("wb") as stream:
        return subprocess.Popen(  # noqa: S603 (our own command)
            [str(qanagat), "worker"], env=env, stdout=stream, stderr=subprocess.STDOUT
        )


def token_of(message: Any) -> str | None:
    for row in message.button_rows():
        for button in row:
            url = str(button.get("url") or "")
            if "start=" in url:
                return url.split("start=", 1)[1]
    return None


async def run(args: argparse.Namespace) -> dict[str, Any]:
    from benchmarks.bot_throughput import create_database
    from tests.fake_telegram import FakeTelegram

    database = await create_database(args.database_url)
    log = Path(tempfile.mkdtemp(prefix="qanagat-dispatch-")) / "worker.log"
    try:
        began = time.monotonic()
        tokens = await seed(database.url, args.invitations)
        print(f"seeded {len(tokens)} invitations in {time.monotonic() - began:.1f} s")
        async with FakeTelegram() as fake:
            fake.rate_limit_per_s = args.limit
            worker = start_worker(args, database.url, fake.url, log)
            try:
                await wait_for_all(fake, set(tokens), worker)
                await asyncio.sleep(1.0)  # late duplicates, if any
            finally:
                worker.send_signal(signal.SIGTERM)
                try:
                    worker.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    worker.kill()
            return figures(args, fake, tokens, await outbox_statuses(database.url), log)
    finally:
        await database.drop()


async def wait_for_all(fake: Any, chats: set[int], worker: subprocess.Popen[bytes]) -> None:
    last_count, last_change = -1, time.monotonic()
    while True:
        count = len(chats & set(fake.chats))
        if count == len(chats):
            return
        if count != last_count:
            last_count, last_change = count, time.monotonic()
        patience = STARTUP_S if count == 0 else STALL_S
        if time.monotonic() - last_change > patience or worker.poll() is not None:
            print(f"stopped waiting: {count} of {len(chats)} chats reached")
            return
        await asyncio.sleep(0.2)


def figures(
    args: argparse.Namespace,
    fake: Any,
    tokens: dict[int, str],
    statuses: dict[str, int],
    log: Path,
) -> dict[str, Any]:
    calls = fake.calls_to("sendMessage")
    accepted = sorted(c.at for c in calls if c.ok)
    refused = [c for c in calls if not c.ok]
    per_chat = fake.sent_per_chat()
    lost = sum(1 for chat in tokens if per_chat[chat] == 0)
    duplicates = sum(max(0, per_chat[chat] - 1) for chat in tokens)
    wrong = sum(
        1
        for chat_id, chat in fake.chats.items()
        for message in chat.messages.values()
        if tokens.get(chat_id) != token_of(message)
    )
    span = accepted[-1] - accepted[0] if len(accepted) > 1 else 0.0
    sent_per_s = (len(accepted) - 1) / span if span > 0 else 0.0
    print(f"accepted {len(accepted)} messages in {span:.1f} s: {sent_per_s:.2f}/s")
    by_code: dict[int, int] = {}
    for call in refused:
        by_code[call.error_code or 0] = by_code.get(call.error_code or 0, 0) + 1
    print(f"refused by the fake: {by_code or 'none'}")
    print(f"outbox at the end: {statuses}")
    print(f"messages with another chat's token: {wrong}")
    problems = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    if problems:
        print("worker log (last lines):")
        for line in problems[-5:]:
            print(f"  {line[:200]}")
    return {
        "sent_per_s": round(sent_per_s, 2),
        "limit_per_s": args.limit if args.limit != int(args.limit) else int(args.limit),
        "ratio": round(sent_per_s / args.limit, 3),
        "lost": lost,
        "duplicates": duplicates + wrong,
    }


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    result = asyncio.run(run(args))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
