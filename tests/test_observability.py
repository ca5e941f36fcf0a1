"""What an on-call engineer sees: `/metrics` on the web and bot processes (request latency by
route pattern, updates handled and refused by reason, Bot API calls and 429s, pool usage), a
request id on every response, JSON log lines with the request or update id and no values a
citizen gave."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import aiohttp
import pytest
from aiogram.exceptions import TelegramRetryAfter
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.exc import IntegrityError

from core.db import create_engine, create_session_factory
from core.metrics import REGISTRY
from core.models import Agency, AgencyKind, Base
from core.settings import Settings
from qanagat.app import build_app
from qanagat.observability import REQUEST_ID, UPDATE_ID, JsonLogFormatter, observe_bot
from tests.conftest import SURVEYS, Seed
from tests.delivery_fixtures import fake_bot
from tests.fake_telegram import FakeTelegram
from tests.test_telegram_bot import WEBHOOK_SECRET, bot_settings, free_port, running_app


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_the_web_times_requests_by_route_pattern_and_answers_with_a_request_id(
    database_url: str, seed: Seed
) -> None:
    settings = Settings(database_url=database_url, secret_key="x" * 40)  # type: ignore[arg-type]
    app = build_app(settings, with_bot=False, surveys=SURVEYS)
    async with TestClient(TestServer(app)) as client:
        given = await client.get("/healthz", headers={"X-Request-Id": "a1b2c3d4e5f60718"})
        assert given.status == 200
        assert given.headers["X-Request-Id"] == "a1b2c3d4e5f60718"
        made = await client.get("/healthz", headers={"X-Request-Id": "<script>"})
        assert re.fullmatch(r"[0-9a-f]{16}", made.headers["X-Request-Id"])
        await client.get("/s/a-secret-invitation-token")
        metrics = await (await client.get("/metrics")).text()
    assert 'route="/healthz"' in metrics
    assert 'route="/s/{token}"' in metrics
    assert "a-secret-invitation-token" not in metrics  # the pattern, never the path
    assert "qanagat_db_pool_connections" in metrics
    assert (
        sample(
            "qanagat_http_request_duration_seconds_count",
            route="/healthz",
            method="GET",
            status="2xx",
        )
        >= 2
    )


async def test_the_bot_counts_updates_handled_and_refused_by_reason(
    database_url: str, redis_url: str | None, seed: Seed
) -> None:
    async with FakeTelegram() as fake:
        port = free_port()
        settings = bot_settings(fake, "webhook", port, database_url, redis_url)
        async with running_app(settings, fake):
            handled = sample("qanagat_telegram_updates_handled_total", type="message")
            duplicates = sample("qanagat_telegram_updates_refused_total", reason="duplicate")
            forged = sample("qanagat_telegram_updates_refused_total", reason="bad_secret")
            citizen = fake.user(7301, language_code="ru")
            update = await citizen.send("/help")
            await citizen.wait_for_message()
            await fake.send_update(update)  # Telegram delivers the same update again
            await fake.wait_for(
                lambda: (
                    sample("qanagat_telegram_updates_refused_total", reason="duplicate")
                    > duplicates
                ),
                timeout=10,
                what="the second delivery refused as a duplicate",
            )
            webhook = f"http://127.0.0.1:{port}/telegram/webhook"
            async with aiohttp.ClientSession() as client:
                async with client.post(
                    webhook,
                    json={"update_id": 999999, "message": update["message"]},
                    headers={"X-Telegram-Bot-Api-Secret-Token": "not-" + WEBHOOK_SECRET},
                ) as response:
                    assert response.status == 401
                async with client.get(f"http://127.0.0.1:{port}/metrics") as response:
                    metrics = await response.text()
    assert sample("qanagat_telegram_updates_handled_total", type="message") == handled + 1
    assert sample("qanagat_telegram_updates_refused_total", reason="bad_secret") == forged + 1
    assert 'route="/telegram/webhook"' in metrics
    assert "qanagat_telegram_updates_refused_total" in metrics


async def test_bot_api_calls_are_counted_with_their_429s() -> None:
    async with FakeTelegram() as fake:
        bot = observe_bot(fake_bot(fake.url))
        try:
            limited = sample(
                "qanagat_telegram_api_calls_total", method="sendMessage", outcome="429"
            )
            ok = sample("qanagat_telegram_api_calls_total", method="sendMessage", outcome="ok")
            fake.fail_next("sendMessage", 429, retry_after=1)
            with pytest.raises(TelegramRetryAfter):
                await bot.send_message(5501, "Сәлем")
            await bot.send_message(5501, "Сәлем")
        finally:
            await bot.session.close()
    assert sample("qanagat_telegram_api_calls_total", method="sendMessage", outcome="429") == (
        limited + 1
    )
    assert sample("qanagat_telegram_api_calls_total", method="sendMessage", outcome="ok") == ok + 1


def test_a_json_log_line_carries_the_request_and_update_ids() -> None:
    formatter = JsonLogFormatter()
    record = logging.LogRecord("qanagat.test", logging.INFO, __file__, 1, "sent %d", (3,), None)
    request, update = REQUEST_ID.set("abcd1234abcd1234"), UPDATE_ID.set(4242)
    try:
        line = json.loads(formatter.format(record))
    finally:
        REQUEST_ID.reset(request)
        UPDATE_ID.reset(update)
    assert (
        line["message"] == "sent 3" and line["level"] == "INFO" and line["logger"] == "qanagat.test"
    )
    assert line["request_id"] == "abcd1234abcd1234" and line["update_id"] == 4242
    try:
        raise ValueError("broken")
    except ValueError:
        import sys

        failed = logging.LogRecord(
            "x", logging.ERROR, __file__, 1, "job failed", (), sys.exc_info()
        )
    assert "ValueError: broken" in json.loads(formatter.format(failed))["error"]
    assert "request_id" not in json.loads(formatter.format(failed))


async def test_database_errors_in_the_logs_never_carry_the_values(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'hidden.sqlite3'}")
    try:
        async with engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
        secret = "+77011234567 Айгерім"
        sessions = create_session_factory(engine)

        def agency() -> Agency:
            return Agency(
                code=secret, kind=AgencyKind.CENTRAL, name_kk="a", name_ru="a", name_en="a"
            )

        async with sessions() as session:
            session.add(agency())
            await session.commit()
        async with sessions() as session:
            session.add(agency())
            with pytest.raises(IntegrityError) as refused:
                await session.commit()
        assert secret not in str(refused.value)
        assert "hidden due to hide_parameters" in str(refused.value)
    finally:
        await engine.dispose()


ROOT = Path(__file__).parent.parent
EXPORTED = {metric.name for metric in REGISTRY.collect()} | {
    sample.name for metric in REGISTRY.collect() for sample in metric.samples
}


def exported(name: str) -> bool:
    """A name our processes export (histograms and counters add suffixes)."""
    stems = [name] + [name.removesuffix(s) for s in ("_bucket", "_count", "_sum", "_total")]
    return any(stem in EXPORTED for stem in stems)


def metric_names(expr: str) -> set[str]:
    return set(re.findall(r"\bqanagat_[a-z_]+", expr))


def test_the_alert_rules_and_the_dashboard_query_only_metrics_we_export() -> None:
    import yaml

    rules = yaml.safe_load((ROOT / "deploy" / "prometheus-alerts.yml").read_text())
    alerts = [rule for group in rules["groups"] for rule in group["rules"]]
    assert len(alerts) >= 8
    for alert in alerts:
        assert alert["labels"]["severity"] in {"page", "warn"}, alert["alert"]
        assert alert["annotations"]["summary"], alert["alert"]
        names = metric_names(alert["expr"])
        assert names or alert["expr"].startswith("up{"), alert["alert"]
        assert all(exported(name) for name in names), (alert["alert"], names)
    dashboard = json.loads((ROOT / "deploy" / "grafana" / "qanagat-dashboard.json").read_text())
    queried = {
        name
        for panel in dashboard["panels"]
        for t in panel["targets"]
        for name in metric_names(t["expr"])
    }
    assert all(exported(name) for name in queried), queried
    # every figure the issue asks an on-call engineer to see has a panel
    for wanted in (
        "qanagat_http_request_duration_seconds_bucket",
        "qanagat_telegram_updates_refused_total",
        "qanagat_outbox_rows",
        "qanagat_telegram_api_calls_total",
        "qanagat_invitations_sent_total",
        "qanagat_ledger_pending",
        "qanagat_job_runs_total",
        "qanagat_db_pool_connections",
    ):
        assert wanted in queried, wanted
