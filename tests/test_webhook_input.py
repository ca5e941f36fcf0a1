"""Whatever arrives at the webhook, and whatever a button carries, nothing earns a 5xx (which
Telegram would retry forever) and a citizen's bad button never becomes an ERROR in the log: a
malformed body is refused with 400, an out-of-date or made-up button is told so in the
citizen's language."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from bot import messages
from tests.conftest import Seed
from tests.fake_telegram import FakeTelegram, FakeUser
from tests.test_telegram_bot import (
    HAPPY_PATH_KK,
    WEBHOOK_SECRET,
    bot_settings,
    free_port,
    running_app,
)

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


class Webhook:
    def __init__(self, fake: FakeTelegram, url: str, client: aiohttp.ClientSession) -> None:
        self.fake = fake
        self.url = url
        self.client = client

    async def post(self, body: bytes) -> int:
        headers = {
            "Content-Type": "application/json",
            "X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET,
        }
        async with self.client.post(self.url, data=body, headers=headers) as reply:
            await reply.read()
            return reply.status


@pytest.fixture
async def webhook(database_url: str, seed: Seed) -> AsyncIterator[Webhook]:
    del seed
    async with FakeTelegram() as fake:
        settings = bot_settings(fake, "webhook", free_port(), database_url, None)
        async with running_app(settings, fake), aiohttp.ClientSession() as client:
            assert fake.webhook_url is not None
            yield Webhook(fake, fake.webhook_url, client)


def errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


MALFORMED = [
    b"{not json",
    b"",
    b"[]",
    b"null",
    b"42",
    b'"update"',
    b"{}",
    b'{"message": {"text": "hi"}}',  # no update_id
    b'{"update_id": "12"}',  # a string
    b'{"update_id": 1.5}',
    b'{"update_id": true}',
    b'{"update_id": 123456789012345678901234567890}',
    b'{"update_id": 5, "message": "x"}',
    b'{"update_id": 6, "message": {"message_id": 1, "date": 0, "text": "no chat"}}',
    b'{"update_id": 7, "callback_query": {"id": "1"}}',
    b'{"update_id": 8, "message": {"text": "\xff\xfe invalid utf-8"}}',
    b"\xff\xfe\xfd",
    b'{"update_id": 9, "message": {"message_id": 1, "date": 0, "chat": {"id": 1}}}',
]


@pytest.mark.parametrize("body", MALFORMED, ids=range(len(MALFORMED)))
async def test_a_malformed_webhook_body_is_refused_not_crashed_on(
    webhook: Webhook, body: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    status = await webhook.post(body)
    assert status in (200, 400), status
    assert errors(caplog) == []


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=12,
)
update_kinds = st.sampled_from(["message", "callback_query", "edited_message", "my_chat_member"])


@hypothesis_settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.one_of(
        st.binary(max_size=200),
        json_values.map(lambda v: json.dumps(v).encode()),
        st.builds(
            lambda update_id, kind, value: json.dumps(
                {"update_id": update_id, kind: value}
            ).encode(),
            st.one_of(st.integers(), st.text(max_size=5)),
            update_kinds,
            json_values,
        ),
    )
)
async def test_no_webhook_body_earns_a_server_error(
    webhook: Webhook, body: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.clear()
    assert await webhook.post(body) < 500
    assert errors(caplog) == []


OUT_OF_DATE = {messages.text("stale_button", lang) for lang in ("kk", "ru", "en")}
FINISHED = {messages.text("completed", lang) for lang in ("kk", "ru", "en")}
SORRY = {messages.text("try_again_later", lang) for lang in ("kk", "ru", "en")}


@pytest.fixture
async def citizen(webhook: Webhook, make_invitation: Callable[..., Awaitable[str]]) -> FakeUser:
    user = webhook.fake.user(7301, language_code="en")
    await user.send(f"/start {await make_invitation()}")
    await user.wait_for_message(containing="Overall")
    return user


BAD_BUTTONS = [
    f"a:{10**30}:0:5",
    f"a:1:{10**30}:5",
    "a:1:0:" + "9" * 5000,
    "a:" + "9" * 5000 + ":0:5",
    f"t:1:0:{10**30}",
    f"d:{10**30}:0",
    f"s:{10**30}:{10**30}:20261207:abc",
    "s:1:1:" + "9" * 5000 + ":x",
    "l:xx",
    "a:-1:-1:-1",
    "a:1",
    "::::",
    "",
    "\x00",
    "zz:1:2:3",
]


@pytest.mark.parametrize("data", BAD_BUTTONS, ids=range(len(BAD_BUTTONS)))
async def test_a_made_up_button_is_out_of_date_in_the_citizens_language(
    citizen: FakeUser, data: str, caplog: pytest.LogCaptureFixture
) -> None:
    await citizen.press_data(data)
    answer = await citizen.wait_callback_answer()
    assert answer.get("text") in OUT_OF_DATE, (data, answer)
    assert errors(caplog) == []


async def test_a_second_press_after_the_survey_is_done_is_answered_without_an_error(
    webhook: Webhook,
    make_invitation: Callable[..., Awaitable[str]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    user = webhook.fake.user(7302, language_code="kk")
    await user.send(f"/start {await make_invitation()}")
    await user.wait_for_message(containing="жалпы")
    first_card = None
    for number, (label, expect) in enumerate(HAPPY_PATH_KK):
        update = await user.press(label)
        if number == 0:
            first_card = update["callback_query"]["message"]["message_id"]
        await user.wait_for_message(containing=expect)
    # The thank-you has no buttons: a press of the old card's (a slow client, a replay)…
    for data in ("a:1:0:5", "a:1:9:", "t:1:1:0", "d:1:1"):
        await user.press_data(data, first_card)
        answer = await user.wait_callback_answer()
        assert answer.get("text") in OUT_OF_DATE | FINISHED, (data, answer)
    assert errors(caplog) == []


@hypothesis_settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=st.one_of(
        st.text(max_size=64),
        st.builds(
            lambda prefix, parts: ":".join([prefix, *parts]),
            st.sampled_from(["a", "t", "d", "l", "s", "c", "cc", "ds", "dr", "x"]),
            st.lists(
                st.one_of(st.integers().map(str), st.text(max_size=8), st.just("9" * 5000)),
                max_size=5,
            ),
        ),
    )
)
async def test_no_button_earns_an_apology_or_an_error(
    citizen: FakeUser, data: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.clear()
    await citizen.press_data(data)
    answer: dict[str, Any] = await citizen.wait_callback_answer()
    assert answer.get("text") not in SORRY, (data, answer)
    assert errors(caplog) == []
