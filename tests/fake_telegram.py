"""In-process fake Telegram Bot API server for end-to-end tests.

Run a real aiogram bot against it, in polling or webhook mode::

    async with FakeTelegram() as fake:
        bot = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(fake.url)))
        user = fake.user(42)
        await user.send("/start")
        reply = await user.wait_for_message(containing="Hello")
        await user.press("★★★★★")

Everything runs on the caller's event loop; nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import inspect
import itertools
import json
import math
import random
import re
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal
from urllib.parse import unquote

import aiohttp
from aiohttp import web

__all__ = [
    "ApiCall",
    "BotMessage",
    "ChatEvent",
    "ChatState",
    "FakeTelegram",
    "FakeUser",
    "UploadedFile",
]

JSON = dict[str, Any]

BOT_ID = 100000
BOT_USERNAME = "QanagatTestBot"
BOT_FIRST_NAME = "Qanagat Test"

# Parameters that are always plain strings, even when they look like JSON ("123", "true").
_STRING_PARAMS = frozenset(
    {
        "action",
        "address",
        "animation",
        "audio",
        "business_connection_id",
        "callback_query_id",
        "caption",
        "custom_title",
        "description",
        "document",
        "emoji",
        "explanation",
        "file_id",
        "first_name",
        "inline_message_id",
        "language_code",
        "last_name",
        "message_effect_id",
        "method",
        "name",
        "parse_mode",
        "phone_number",
        "photo",
        "query",
        "question",
        "secret_token",
        "short_description",
        "sticker",
        "text",
        "thumbnail",
        "title",
        "url",
        "vcard",
        "video",
        "video_note",
        "voice",
    }
)
_DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_INLINE_ACTIONS = (
    "callback_data",
    "url",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_HTML_TAGS = frozenset(
    {
        "a",
        "b",
        "blockquote",
        "code",
        "del",
        "em",
        "i",
        "ins",
        "pre",
        "s",
        "span",
        "strike",
        "strong",
        "tg-emoji",
        "tg-spoiler",
        "tg-time",
        "u",
    }
)
_HTML_TAG_RE = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)((?:\s[^<>]*)?)>")
_BOUNDARY_RE = re.compile(r'boundary="?([^";]+)"?')
_DISPOSITION_PARAM_RE = re.compile(r';\s*([A-Za-z*]+)="([^"]*)"')
_SECRET_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")
_MEDIA_KINDS = (
    "photo",
    "document",
    "sticker",
    "voice",
    "video",
    "audio",
    "animation",
    "video_note",
)
_SEND_MEDIA_METHODS = {f"send{k.replace('_', '')}": k for k in _MEDIA_KINDS}
_CONFLICT_WEBHOOK = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
_CONFLICT_POLL = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)


class _ApiError(Exception):
    """An error answer of the Bot API."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after


def _bad(description: str) -> _ApiError:
    return _ApiError(400, f"Bad Request: {description}")


@dataclass(slots=True)
class UploadedFile:
    """A file part of a multipart request."""

    filename: str | None
    content_type: str | None
    data: bytes


@dataclass(slots=True)
class ApiCall:
    """One Bot API call as the fake saw it, with its outcome."""

    method: str
    params: JSON
    token: str
    via: Literal["http", "webhook"] = "http"
    ok: bool | None = None
    error_code: int | None = None
    description: str | None = None
    result: Any = None
    at: float = 0.0  # time.monotonic() when the call arrived

    def __repr__(self) -> str:
        outcome = "ok" if self.ok else f"{self.error_code} {self.description}"
        return f"<{self.method} via {self.via} {self.params!r} -> {outcome}>"


@dataclass(eq=False)
class BotMessage:
    """A message the bot sent; `raw` is the Telegram Message object, kept current after edits."""

    raw: JSON
    parse_mode: str | None = None
    keyboard: JSON | None = None
    plain_text: str | None = None
    deleted: bool = False
    edit_count: int = 0

    @property
    def message_id(self) -> int:
        return int(self.raw["message_id"])

    @property
    def chat_id(self) -> int:
        return int(self.raw["chat"]["id"])

    @property
    def text(self) -> str | None:
        """Text, or caption for media, exactly as the bot sent it (markup included)."""
        value = self.raw.get("text", self.raw.get("caption"))
        return None if value is None else str(value)

    @property
    def reply_markup(self) -> JSON | None:
        """The inline keyboard markup, or None."""
        markup = self.raw.get("reply_markup")
        return markup if isinstance(markup, dict) else None

    @property
    def kind(self) -> str:
        for kind in _MEDIA_KINDS:
            if kind in self.raw:
                return kind
        return "text" if "text" in self.raw else "other"

    def button_rows(self) -> list[list[JSON]]:
        markup = self.reply_markup or {}
        return [list(row) for row in markup.get("inline_keyboard", [])]

    def buttons(self) -> list[str]:
        """Texts of the inline buttons, row by row."""
        return [str(b.get("text")) for row in self.button_rows() for b in row]

    def button(self, text: str) -> JSON | None:
        for row in self.button_rows():
            for b in row:
                if b.get("text") == text:
                    return b
        return None

    def contains(self, needle: str) -> bool:
        return any(needle in t for t in (self.text, self.plain_text) if t)

    def __repr__(self) -> str:
        flags = " deleted" if self.deleted else ""
        return f"<BotMessage #{self.message_id}{flags} {self.text!r} buttons={self.buttons()}>"


@dataclass(slots=True)
class ChatEvent:
    """A bot message sent or edited; `version` is the chat version after the event."""

    version: int
    kind: Literal["sent", "edited"]
    message: BotMessage
    text: str | None
    plain_text: str | None

    def contains(self, needle: str) -> bool:
        return any(needle in t for t in (self.text, self.plain_text) if t)


@dataclass(eq=False)
class ChatState:
    """Everything the fake knows about one chat."""

    chat: JSON
    next_message_id: int = 1
    version: int = 0
    messages: dict[int, BotMessage] = field(default_factory=dict)
    user_messages: dict[int, JSON] = field(default_factory=dict)
    deleted: list[BotMessage] = field(default_factory=list)
    events: list[ChatEvent] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    log: list[str] = field(default_factory=list)
    reply_keyboard: JSON | None = None

    @property
    def id(self) -> int:
        return int(self.chat["id"])

    def take_message_id(self) -> int:
        mid = self.next_message_id
        self.next_message_id += 1
        return mid

    def add_event(self, kind: Literal["sent", "edited"], msg: BotMessage) -> None:
        self.version += 1
        self.events.append(ChatEvent(self.version, kind, msg, msg.text, msg.plain_text))
        prefix = "bot" if kind == "sent" else f"bot edit #{msg.message_id}"
        buttons = msg.buttons()
        self.log.append(f"{prefix}: {msg.text!r}" + (f" {buttons}" if buttons else ""))


@dataclass(slots=True)
class _Pending:
    update: JSON
    delivered: bool = False

    @property
    def update_id(self) -> int:
        return int(self.update["update_id"])


@dataclass(slots=True)
class _Failure:
    code: int
    description: str
    retry_after: int | None
    times: int


@dataclass(slots=True)
class _StoredFile:
    file_id: str
    file_unique_id: str
    path: str
    data: bytes


def _now() -> int:
    return int(time.time())


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _decode_value(key: str, value: str | UploadedFile) -> Any:
    if isinstance(value, UploadedFile) or key in _STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _decode_form(items: Iterable[tuple[str, str | UploadedFile]]) -> JSON:
    return {key: _decode_value(key, value) for key, value in items}


def _as_int(value: Any, name: str) -> int:
    if isinstance(value, bool):
        raise _bad(f"invalid {name} specified")
    if isinstance(value, int):
        return value
    try:
        return int(str(value))
    except ValueError:
        raise _bad(f"invalid {name} specified") from None


def _html_to_plain(text: str) -> str:
    """Validate Telegram HTML like the Bot API does and return the visible text."""
    stack: list[str] = []
    out: list[str] = []
    pos = 0
    while (start := text.find("<", pos)) >= 0:
        out.append(text[pos:start])
        offset = len(text[:start].encode())
        match = _HTML_TAG_RE.match(text, start)
        if match is None:
            name = re.match(r"</?([^\s<>]*)", text[start:])
            tag = name.group(1) if name else ""
            raise _bad(
                f'can\'t parse entities: Unsupported start tag "{tag}" at byte offset {offset}'
            )
        closing, name_ = match.group(1) == "/", match.group(2).lower()
        if name_ not in _HTML_TAGS:
            kind = "end" if closing else "start"
            raise _bad(
                f'can\'t parse entities: Unsupported {kind} tag "{name_}" at byte offset {offset}'
            )
        if closing:
            if not stack:
                raise _bad(f"can't parse entities: Unexpected end tag at byte offset {offset}")
            if stack[-1] != name_:
                raise _bad(
                    f"can't parse entities: Unmatched end tag at byte offset {offset}, "
                    f'expected "</{stack[-1]}>", found "</{name_}>"'
                )
            stack.pop()
        else:
            stack.append(name_)
        pos = match.end()
    out.append(text[pos:])
    if stack:
        raise _bad(
            f"can't parse entities: Can't find end tag corresponding to start tag \"{stack[-1]}\""
        )
    return html.unescape("".join(out))


def _plain(text: str, parse_mode: str | None) -> str:
    mode = (parse_mode or "").lower()
    if mode == "html":
        return _html_to_plain(text)
    if mode in ("markdownv2", "markdown"):
        return re.sub(r"\\(.)", r"\1", text)
    return text


def _parse_multipart(body: bytes, boundary: str) -> list[tuple[str, str | UploadedFile]]:
    """Split a multipart/form-data body (lean; aiohttp's reader is slow for many small parts)."""
    items: list[tuple[str, str | UploadedFile]] = []
    for chunk in body.split(b"--" + boundary.encode())[1:]:
        if chunk.startswith(b"--"):
            break
        head, _, content = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        content = content.removesuffix(b"\r\n")
        headers = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        disposition = {
            k.lower(): unquote(v)
            for k, v in _DISPOSITION_PARAM_RE.findall(headers.get("content-disposition", ""))
        }
        name = disposition.get("name")
        if name is None:
            continue
        if "filename" in disposition:
            file = UploadedFile(disposition["filename"], headers.get("content-type"), content)
            items.append((name, file))
        else:
            items.append((name, content.decode()))
    return items


def _update_type(update: JSON) -> str:
    for key in update:
        if key != "update_id":
            return key
    return ""


def _update_chat_key(update: JSON) -> int:
    """The chat an update belongs to, for per-chat sequential webhook delivery."""
    for key in ("message", "edited_message", "channel_post", "edited_channel_post"):
        if isinstance(obj := update.get(key), dict):
            return int(obj.get("chat", {}).get("id", 0))
    for key in ("my_chat_member", "chat_member", "chat_join_request", "message_reaction"):
        if isinstance(obj := update.get(key), dict):
            return int(obj.get("chat", {}).get("id", 0))
    if isinstance(cq := update.get("callback_query"), dict):
        if isinstance(msg := cq.get("message"), dict) and "chat" in msg:
            return int(msg["chat"]["id"])
        return int(cq.get("from", {}).get("id", 0))
    obj = update.get(_update_type(update))
    if isinstance(obj, dict) and isinstance(user := obj.get("from"), dict):
        return int(user.get("id", 0))
    return 0


class FakeTelegram:
    """A fake Bot API server; use as ``async with FakeTelegram() as fake``."""

    BOT_ID: ClassVar[int] = BOT_ID
    BOT_USERNAME: ClassVar[str] = BOT_USERNAME

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.url = ""
        self.calls: list[ApiCall] = []
        self.chats: dict[int, ChatState] = {}
        self.users: dict[int, FakeUser] = {}
        self.blocked_chats: set[int] = set()
        self.rate_limit_per_s: float | None = None
        self.webhook_url: str | None = None
        self.webhook_secret: str | None = None
        self.webhook_token: str | None = None
        self.webhook_timeout: float = 30.0
        self.webhook_retries = 0
        self.webhook_retry_delay = 0.1
        self.webhook_errors: list[str] = []
        self.webhook_deliveries = 0
        self.hold_updates = False
        self.held: list[JSON] = []
        self.commands: dict[tuple[str, str], list[JSON]] = {}
        self.menu_buttons: dict[int | None, JSON] = {}
        self.callback_answers: dict[str, JSON] = {}
        self._callback_queries: dict[str, int] = {}
        self._pending: list[_Pending] = []
        self._allowed_updates: frozenset[str] | None = None
        self._webhook_allowed: frozenset[str] | None = None
        self._next_update_id = 1
        self._ids = itertools.count(1)
        self._failures: dict[str, deque[_Failure]] = {}
        self._random_failures: dict[str, tuple[float, tuple[int, ...]]] = {}
        self._random = random.Random(0)
        self._send_times: deque[float] = deque()
        self._files: dict[str, _StoredFile] = {}
        self._files_by_path: dict[str, _StoredFile] = {}
        self._wh_queues: dict[int, deque[JSON]] = {}
        self._wh_tasks: set[asyncio.Task[None]] = set()
        self._poll_generation = 0
        self._closing = False
        self._wake = asyncio.Event()
        self._changed = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._client: aiohttp.ClientSession | None = None
        self._sync_handlers: dict[str, Callable[[str, JSON], Any]] = {
            "getme": lambda _t, _p: self.bot_user(full=True),
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "sendmessage": self._send_message,
            "editmessagetext": self._edit_message_text,
            "editmessagecaption": self._edit_message_caption,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "deletemessage": self._delete_message,
            "deletemessages": self._delete_messages,
            "answercallbackquery": self._answer_callback_query,
            "setmycommands": self._set_my_commands,
            "getmycommands": self._get_my_commands,
            "deletemycommands": self._delete_my_commands,
            "setchatmenubutton": self._set_chat_menu_button,
            "getchatmenubutton": self._get_chat_menu_button,
            "sendchataction": self._send_chat_action,
            "getfile": self._get_file,
        }
        for method, kind in _SEND_MEDIA_METHODS.items():
            self._sync_handlers[method] = self._media_sender(kind)

    # ----------------------------------------------------------------- lifecycle

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Start listening on a free port and set `url`."""
        self._closing = False
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        self.url = f"http://{self.host}:{self.port}"
        self._client = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None))

    async def stop(self) -> None:
        """Wake long polls, cancel webhook deliveries and shut the server down."""
        self._closing = True
        self._wake_pollers()
        tasks = list(self._wh_tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.close()
            self._client = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ----------------------------------------------------------------- test API

    @staticmethod
    def bot_user(full: bool = False) -> JSON:
        """The bot's User object (with getMe's extra fields when `full`)."""
        user: JSON = {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": BOT_FIRST_NAME,
            "username": BOT_USERNAME,
        }
        if full:
            user |= {
                "can_join_groups": True,
                "can_read_all_group_messages": False,
                "supports_inline_queries": False,
            }
        return user

    def user(
        self,
        user_id: int,
        first_name: str = "Aigerim",
        language_code: str | None = "kk",
        *,
        last_name: str | None = None,
        username: str | None = None,
    ) -> FakeUser:
        """The citizen with this id (created on first use, then reused)."""
        existing = self.users.get(user_id)
        if existing is not None:
            return existing
        person = FakeUser(self, user_id, first_name, language_code, last_name, username)
        self.users[user_id] = person
        return person

    def chat(self, chat_id: int) -> ChatState:
        """The chat state for `chat_id`, created on first use."""
        state = self.chats.get(chat_id)
        if state is None:
            chat: JSON = {"id": chat_id}
            known = self.users.get(chat_id)
            if known is not None:
                chat |= {
                    k: v for k, v in known.as_user().items() if k in ("first_name", "username")
                }
                chat["type"] = "private"
            elif chat_id > 0:
                chat |= {"type": "private", "first_name": f"User{chat_id}"}
            else:
                kind = "supergroup" if str(chat_id).startswith("-100") else "group"
                chat |= {"type": kind, "title": f"Chat {chat_id}"}
            state = self.chats[chat_id] = ChatState(chat)
        return state

    def messages(self, chat_id: int) -> list[BotMessage]:
        """Bot messages in the chat that are not deleted, oldest first."""
        return list(self.chat(chat_id).messages.values())

    def calls_to(self, method: str) -> list[ApiCall]:
        """Recorded calls of `method` (case-insensitive)."""
        name = method.lower()
        return [c for c in self.calls if c.method.lower() == name]

    def fail_next(
        self,
        method: str,
        error_code: int = 429,
        description: str | None = None,
        retry_after: int | None = None,
        *,
        times: int = 1,
    ) -> None:
        """Make the next `times` calls of `method` fail with `error_code`.

        429 carries ``parameters.retry_after`` (default 1 s); other codes only if given.
        """
        if retry_after is None and error_code == 429:
            retry_after = 1
        if description is None:
            description = {
                400: "Bad Request: injected failure",
                403: "Forbidden: bot was blocked by the user",
                409: _CONFLICT_POLL,
                429: f"Too Many Requests: retry after {retry_after}",
                500: "Internal Server Error",
                502: "Bad Gateway",
            }.get(error_code, f"Error {error_code}")
        failure = _Failure(error_code, description, retry_after, times)
        self._failures.setdefault(method.lower(), deque()).append(failure)

    def fail_randomly(
        self,
        probability: float,
        *,
        seed: int,
        methods: Iterable[str] = ("sendMessage",),
        codes: Iterable[int] = (500, 502),
    ) -> None:
        """Make each call of `methods` fail with one of `codes` with `probability`, drawn from
        a generator seeded with `seed` (the same seed and call order give the same failures).
        A failed call stores nothing, as when Telegram answers 5xx before taking the message."""
        self._random = random.Random(seed)
        for method in methods:
            self._random_failures[method.lower()] = (probability, tuple(codes))

    def block_chat(self, chat_id: int) -> None:
        """The person behind `chat_id` blocked the bot: sends there fail with 403 (no update
        is sent; `FakeUser.block_bot` also sends the my_chat_member update)."""
        self.blocked_chats.add(chat_id)

    def sent_per_chat(self) -> Counter[int]:
        """How many messages each chat received (accepted sends, edits not counted)."""
        return Counter(
            {chat_id: sum(e.kind == "sent" for e in c.events) for chat_id, c in self.chats.items()}
        )

    def send_attempt_times(self, method: str = "sendMessage") -> list[float]:
        """Arrival times (time.monotonic) of every call of `method`, refused ones included."""
        return [c.at for c in self.calls_to(method)]

    async def send_update(self, update: JSON) -> JSON:
        """Inject a raw update; `update_id` is assigned if missing. Returns the update."""
        if "update_id" not in update:
            update = {"update_id": self._next_update_id, **update}
        self._next_update_id = max(self._next_update_id, int(update["update_id"]) + 1)
        if isinstance(cq := update.get("callback_query"), dict):
            self._callback_queries.setdefault(str(cq["id"]), int(cq["from"]["id"]))
        if self.hold_updates:
            # Kept for the test to deliver itself (to several servers, several times at once).
            self.held.append(update)
        elif self.webhook_url:
            self._dispatch_webhook(update)
        else:
            self._pending.append(_Pending(update))
            self._wake_pollers()
        self._notify()
        return update

    @property
    def pending_update_count(self) -> int:
        """Updates not yet confirmed (polling) or not yet delivered (webhook)."""
        return len(self._pending) + sum(len(q) for q in self._wh_queues.values())

    async def wait_for(
        self,
        predicate: Callable[[], Any],
        timeout: float = 5.0,  # noqa: ASYNC109
        *,
        what: str = "condition",
        chat_id: int | None = None,
    ) -> Any:
        """Wait until `predicate()` (sync or async) is truthy and return its value."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            changed = self._changed
            result = predicate()
            if inspect.isawaitable(result):
                result = await result
            if result:
                return result
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(
                    f"timed out after {timeout}s waiting for {what}\n" + self.diagnostics(chat_id)
                )
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(remaining, 0.05)):
                    await changed.wait()

    async def wait_idle(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until every update is confirmed (polling) or delivered (webhook)."""
        await self.wait_for(
            lambda: self.pending_update_count == 0, timeout, what="all updates to be consumed"
        )

    def diagnostics(self, chat_id: int | None = None, tail: int = 15) -> str:
        """A readable dump of recent activity for failure messages."""
        lines: list[str] = []
        if chat_id is not None and chat_id in self.chats:
            lines.append(f"chat {chat_id} transcript:")
            lines += [f"  {line}" for line in self.chats[chat_id].log[-tail:]] or ["  (empty)"]
        lines.append(f"last API calls ({len(self.calls)} total):")
        recent = [c for c in self.calls if c.method.lower() != "getupdates"][-tail:]
        lines += [f"  {c!r}" for c in recent] or ["  (none besides getUpdates)"]
        if self.webhook_errors:
            lines.append("webhook errors:")
            lines += [f"  {e}" for e in self.webhook_errors[-5:]]
        lines.append(
            f"pending updates: {self.pending_update_count}; webhook: {self.webhook_url or 'none'}"
        )
        return "\n".join(lines)

    # ----------------------------------------------------------------- internals

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def _wake_pollers(self) -> None:
        self._wake.set()
        self._wake = asyncio.Event()

    def _register_file(self, kind: str, data: bytes, ext: str = "bin") -> _StoredFile:
        n = next(self._ids)
        stored = _StoredFile(
            file_id=f"{kind.upper()}-{n:06d}-fakefileid",
            file_unique_id=f"U{kind[:3]}{n:06d}",
            path=f"{kind}s/file_{n}.{ext}",
            data=data,
        )
        self._files[stored.file_id] = stored
        self._files_by_path[stored.path] = stored
        return stored

    async def _handle_api(self, request: web.Request) -> web.Response:
        params = await self._read_params(request)
        status, body = await self._execute(
            request.match_info["token"], request.match_info["method"], params, "http"
        )
        return web.json_response(body, status=status)

    async def _handle_file(self, request: web.Request) -> web.Response:
        stored = self._files_by_path.get(request.match_info["path"])
        if stored is None:
            return web.json_response(
                {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
            )
        return web.Response(body=stored.data, content_type="application/octet-stream")

    @staticmethod
    async def _read_params(request: web.Request) -> JSON:
        params: JSON = _decode_form(request.query.items())
        if not request.body_exists:
            return params
        if request.content_type == "application/json":
            data = await request.json()
            if isinstance(data, dict):
                params.update(data)
            return params
        form = await request.post()
        items: list[tuple[str, str | UploadedFile]] = []
        for key, value in form.items():
            if isinstance(value, web.FileField):
                items.append(
                    (key, UploadedFile(value.filename, value.content_type, value.file.read()))
                )
            elif isinstance(value, str):
                items.append((key, value))
            else:
                items.append((key, UploadedFile(None, None, bytes(value))))
        params.update(_decode_form(items))
        return params

    async def _execute(
        self, token: str, method: str, params: JSON, via: Literal["http", "webhook"]
    ) -> tuple[int, JSON]:
        call = ApiCall(method, params, token, via, at=time.monotonic())
        self.calls.append(call)
        name = method.lower()
        try:
            if (chance := self._random_failures.get(name)) is not None:
                probability, codes = chance
                if self._random.random() < probability:
                    code = self._random.choice(codes)
                    raise _ApiError(code, "Internal Server Error" if code == 500 else "Bad Gateway")
            failures = self._failures.get(name)
            if failures:
                failure = failures[0]
                failure.times -= 1
                if failure.times <= 0:
                    failures.popleft()
                raise _ApiError(failure.code, failure.description, failure.retry_after)
            handler = self._sync_handlers.get(name)
            if handler is not None:
                result = handler(token, params)
            elif name == "getupdates":
                result = await self._get_updates(params)
            else:
                result = True
        except _ApiError as error:
            call.ok, call.error_code, call.description = False, error.code, error.description
            body: JSON = {"ok": False, "error_code": error.code, "description": error.description}
            if error.retry_after is not None:
                body["parameters"] = {"retry_after": error.retry_after}
            self._notify()
            return error.code, body
        call.ok, call.result = True, result
        self._notify()
        return 200, {"ok": True, "result": result}

    # ----------------------------------------------------------------- updates

    def _allowed(self, update: JSON, allowed: frozenset[str] | None) -> bool:
        kind = _update_type(update)
        if allowed is None:
            return kind not in _DEFAULT_EXCLUDED_UPDATES
        return kind in allowed

    def _confirm(self, offset: int | None) -> None:
        if offset is None or not self._pending:
            return
        if offset < 0:
            self._pending = self._pending[offset:]
            return
        if any(p.delivered and p.update_id < offset for p in self._pending):
            self._pending = [p for p in self._pending if not (p.delivered and p.update_id < offset)]

    def _take(self, limit: int) -> list[JSON]:
        allowed = self._allowed_updates
        if any(not self._allowed(p.update, allowed) for p in self._pending):
            self._pending = [p for p in self._pending if self._allowed(p.update, allowed)]
        batch = self._pending[:limit]
        for p in batch:
            p.delivered = True
        return [p.update for p in batch]

    async def _get_updates(self, p: JSON) -> list[JSON]:
        if self.webhook_url:
            raise _ApiError(409, _CONFLICT_WEBHOOK)
        offset = None if p.get("offset") is None else _as_int(p["offset"], "offset")
        limit = min(100, max(1, _as_int(p.get("limit", 100), "limit")))
        timeout = max(0.0, float(p.get("timeout") or 0))
        if (allowed := p.get("allowed_updates")) is not None:
            self._allowed_updates = frozenset(allowed) if allowed else None
        self._confirm(offset)
        self._poll_generation += 1
        generation = self._poll_generation
        self._wake_pollers()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if self._closing:
                return []
            if generation != self._poll_generation:
                raise _ApiError(409, _CONFLICT_POLL)
            if self.webhook_url:
                raise _ApiError(409, _CONFLICT_WEBHOOK)
            batch = self._take(limit)
            remaining = deadline - loop.time()
            if batch or remaining <= 0:
                return batch
            wake = self._wake
            try:
                async with asyncio.timeout(remaining):
                    await wake.wait()
            except TimeoutError:
                return []

    # ----------------------------------------------------------------- webhook

    def _dispatch_webhook(self, update: JSON) -> None:
        key = _update_chat_key(update)
        queue = self._wh_queues.get(key)
        if queue is not None:
            queue.append(update)
            return
        queue = self._wh_queues[key] = deque([update])
        task = asyncio.get_running_loop().create_task(self._webhook_worker(key, queue))
        self._wh_tasks.add(task)
        task.add_done_callback(self._wh_tasks.discard)

    async def _webhook_worker(self, key: int, queue: deque[JSON]) -> None:
        try:
            while queue:
                if not self.webhook_url:
                    self._pending.extend(_Pending(u) for u in queue)
                    queue.clear()
                    self._wake_pollers()
                    break
                update = queue[0]
                if self._allowed(update, self._webhook_allowed):
                    await self._deliver(update)
                queue.popleft()
        finally:
            if self._wh_queues.get(key) is queue:
                del self._wh_queues[key]
            self._notify()

    async def _deliver(self, update: JSON) -> None:
        assert self._client is not None
        headers = {"Content-Type": "application/json"}
        if self.webhook_secret:
            headers["X-Telegram-Bot-Api-Secret-Token"] = self.webhook_secret
        body = json.dumps(update, ensure_ascii=False).encode()
        for attempt in range(self.webhook_retries + 1):
            url = self.webhook_url
            if not url:
                return
            try:
                async with self._client.post(
                    url,
                    data=body,
                    headers=headers,
                    timeout=aiohttp.ClientTimeout(total=self.webhook_timeout),
                ) as resp:
                    if 200 <= resp.status < 300:
                        reply = await self._read_webhook_reply(resp)
                        self.webhook_deliveries += 1
                        if reply is not None:
                            method = str(reply.pop("method"))
                            await self._execute(self.webhook_token or "", method, reply, "webhook")
                        return
                    text = await resp.text()
                    error = f"update {update['update_id']}: HTTP {resp.status}: {text[:200]}"
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                error = f"update {update['update_id']}: {type(exc).__name__}: {exc}"
            self.webhook_errors.append(error)
            self._notify()
            if attempt < self.webhook_retries:
                await asyncio.sleep(self.webhook_retry_delay)

    @staticmethod
    async def _read_webhook_reply(resp: aiohttp.ClientResponse) -> JSON | None:
        """Parse aiogram's "reply in webhook response" (JSON or multipart form)."""
        if resp.content_type == "application/json":
            data = await resp.json(content_type=None)
            if isinstance(data, dict) and "method" in data:
                return dict(data)
            return None
        if resp.content_type == "multipart/form-data":
            match = _BOUNDARY_RE.search(resp.headers.get(aiohttp.hdrs.CONTENT_TYPE, ""))
            if match is None:
                raise ValueError("multipart webhook reply without a boundary")
            params = _decode_form(_parse_multipart(await resp.read(), match.group(1)))
            return params if "method" in params else None
        await resp.read()
        return None

    # ----------------------------------------------------------------- method handlers

    def _set_webhook(self, token: str, p: JSON) -> bool:
        url = str(p.get("url") or "")
        if not url:
            return self._delete_webhook(token, p)
        secret = p.get("secret_token")
        if secret is not None and not _SECRET_RE.fullmatch(str(secret)):
            raise _bad("secret token contains unallowed characters")
        if p.get("drop_pending_updates"):
            self._pending.clear()
        if (allowed := p.get("allowed_updates")) is not None:
            self._webhook_allowed = frozenset(allowed) if allowed else None
        self.webhook_url = url
        self.webhook_secret = None if secret is None else str(secret)
        self.webhook_token = token
        pending, self._pending = self._pending, []
        for item in pending:
            self._dispatch_webhook(item.update)
        self._wake_pollers()
        return True

    def _delete_webhook(self, _token: str, p: JSON) -> bool:
        self.webhook_url = None
        self.webhook_secret = None
        if p.get("drop_pending_updates"):
            self._pending.clear()
            for queue in self._wh_queues.values():
                # Keep the update being delivered right now; drop the rest.
                while len(queue) > 1:
                    queue.pop()
        self._wake_pollers()
        return True

    def _get_webhook_info(self, _token: str, _p: JSON) -> JSON:
        info: JSON = {
            "url": self.webhook_url or "",
            "has_custom_certificate": False,
            "pending_update_count": self.pending_update_count,
        }
        if self.webhook_url:
            info["max_connections"] = 40
            if self._webhook_allowed is not None:
                info["allowed_updates"] = sorted(self._webhook_allowed)
            if self.webhook_errors:
                info["last_error_date"] = _now()
                info["last_error_message"] = self.webhook_errors[-1][:200]
        return info

    def _target_chat(self, p: JSON) -> ChatState:
        raw = p.get("chat_id")
        if raw is None or raw == "":
            raise _bad("chat_id is empty")
        try:
            chat_id = _as_int(raw, "chat_id")
        except _ApiError:
            raise _bad("chat not found") from None
        return self.chat(chat_id)

    def _check_can_send(self, chat: ChatState, counts_towards_limit: bool = True) -> None:
        if chat.id in self.blocked_chats:
            raise _ApiError(403, "Forbidden: bot was blocked by the user")
        if not counts_towards_limit or self.rate_limit_per_s is None:
            return
        now = time.monotonic()
        times = self._send_times
        while times and now - times[0] >= 1.0:
            times.popleft()
        if len(times) >= self.rate_limit_per_s:
            retry_after = max(1, math.ceil(times[0] + 1.0 - now))
            raise _ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after)
        times.append(now)

    @staticmethod
    def _markup(p: JSON, *, inline_only: bool = False) -> JSON | None:
        markup = p.get("reply_markup")
        if markup is None:
            return None
        if isinstance(markup, str):
            try:
                markup = json.loads(markup)
            except ValueError:
                raise _bad("can't parse reply keyboard markup JSON object") from None
        if not isinstance(markup, dict):
            raise _bad("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise _bad(
                    'field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays'
                )
            for row in rows:
                for button in row:
                    if not isinstance(button, dict) or not button.get("text"):
                        raise _bad("BUTTON_TEXT_INVALID")
                    if not any(k in button for k in _INLINE_ACTIONS):
                        raise _bad("text buttons are unallowed in the inline keyboard")
                    data = button.get("callback_data")
                    if data is not None and not 1 <= len(str(data).encode()) <= 64:
                        raise _bad("BUTTON_DATA_INVALID")
                    if "url" in button and not button["url"]:
                        raise _bad("BUTTON_URL_INVALID")
        elif inline_only:
            raise _bad("inline keyboard expected")
        return markup

    def _store_sent(
        self,
        chat: ChatState,
        fields: JSON,
        p: JSON,
        text: str | None,
        parse_mode: str | None,
        markup: JSON | None,
    ) -> JSON:
        raw: JSON = {
            "message_id": chat.take_message_id(),
            "from": self.bot_user(),
            "chat": chat.chat,
            "date": _now(),
            **fields,
        }
        if markup is not None and "inline_keyboard" in markup:
            raw["reply_markup"] = markup
        elif markup is not None:
            chat.reply_keyboard = None if markup.get("remove_keyboard") else markup
        reply_to = p.get("reply_to_message_id")
        if reply_to is None and isinstance(rp := p.get("reply_parameters"), dict):
            reply_to = rp.get("message_id")
        if reply_to is not None:
            mid = _as_int(reply_to, "reply_to_message_id")
            target = chat.user_messages.get(mid) or (
                chat.messages[mid].raw if mid in chat.messages else None
            )
            if target is not None:
                raw["reply_to_message"] = target
        plain = None if text is None else _plain(text, parse_mode)
        msg = BotMessage(raw, parse_mode, markup, plain)
        chat.messages[msg.message_id] = msg
        chat.add_event("sent", msg)
        return dict(raw)

    def _send_message(self, _token: str, p: JSON) -> JSON:
        chat = self._target_chat(p)
        text = p.get("text")
        if text is None or not str(text).strip():
            raise _bad("message text is empty")
        text = str(text)
        parse_mode = p.get("parse_mode") or None
        plain = _plain(text, parse_mode)
        if not plain.strip():
            raise _bad("message text is empty")
        if _utf16_len(plain) > 4096:
            raise _bad("message is too long")
        markup = self._markup(p)
        self._check_can_send(chat)
        return self._store_sent(chat, {"text": text}, p, text, parse_mode, markup)

    def _media_sender(self, kind: str) -> Callable[[str, JSON], JSON]:
        def send(_token: str, p: JSON) -> JSON:
            chat = self._target_chat(p)
            value = p.get(kind)
            if isinstance(value, str) and value.startswith("attach://"):
                value = p.get(value.removeprefix("attach://"))
            file_name = "file.bin"
            if isinstance(value, UploadedFile):
                stored = self._register_file(kind, value.data)
                file_id, unique, size = stored.file_id, stored.file_unique_id, len(value.data)
                file_name = value.filename or file_name
            elif isinstance(value, str) and value:
                known = self._files.get(value)
                file_id = value
                unique = known.file_unique_id if known else f"U{value[-12:]}"
                size = len(known.data) if known else 1024
            else:
                raise _bad(f"there is no {kind} in the request")
            caption = p.get("caption")
            parse_mode = p.get("parse_mode") or None
            if caption is not None and _utf16_len(_plain(str(caption), parse_mode)) > 1024:
                raise _bad("message caption is too long")
            markup = self._markup(p)
            self._check_can_send(chat)
            obj: JSON = {"file_id": file_id, "file_unique_id": unique, "file_size": size}
            if kind == "document":
                obj |= {"file_name": file_name, "mime_type": "application/octet-stream"}
            fields: JSON = {kind: self._media_object(kind, obj, p)}
            if caption is not None:
                fields["caption"] = str(caption)
            text = None if caption is None else str(caption)
            return self._store_sent(chat, fields, p, text, parse_mode, markup)

        return send

    @staticmethod
    def _media_object(kind: str, obj: JSON, p: JSON) -> Any:
        duration = int(p.get("duration") or 1)
        if kind == "photo":
            return [obj | {"width": 90, "height": 90}, obj | {"width": 800, "height": 800}]
        if kind == "sticker":
            extra = {"type": "regular", "width": 512, "height": 512, "is_animated": False}
            return obj | extra | {"is_video": False, "emoji": p.get("emoji") or "👍"}
        if kind in ("video", "animation"):
            return obj | {"width": 640, "height": 480, "duration": duration}
        if kind == "video_note":
            return obj | {"length": 240, "duration": duration}
        if kind in ("voice", "audio"):
            return obj | {"duration": duration}
        return obj

    def _edit_target(self, p: JSON) -> tuple[ChatState, BotMessage] | None:
        if p.get("inline_message_id"):
            return None
        chat = self._target_chat(p)
        mid = _as_int(p.get("message_id"), "message_id")
        msg = chat.messages.get(mid)
        if msg is None:
            if mid in chat.user_messages:
                raise _bad("message can't be edited")
            raise _bad("message to edit not found")
        return chat, msg

    def _finish_edit(self, chat: ChatState, msg: BotMessage, markup: JSON | None) -> JSON:
        if markup is None:
            msg.raw.pop("reply_markup", None)
        else:
            msg.raw["reply_markup"] = markup
        msg.keyboard = markup
        msg.raw["edit_date"] = _now()
        msg.edit_count += 1
        chat.add_event("edited", msg)
        return dict(msg.raw)

    def _edit_message_text(self, _token: str, p: JSON) -> JSON | bool:
        text = p.get("text")
        if text is None or not str(text).strip():
            raise _bad("message text is empty")
        text = str(text)
        parse_mode = p.get("parse_mode") or None
        plain = _plain(text, parse_mode)
        if _utf16_len(plain) > 4096:
            raise _bad("MESSAGE_TOO_LONG")
        markup = self._markup(p, inline_only=True)
        target = self._edit_target(p)
        if target is None:
            return True
        chat, msg = target
        if "text" not in msg.raw:
            raise _bad("there is no text in the message to edit")
        if text == msg.raw["text"] and parse_mode == msg.parse_mode and markup == msg.reply_markup:
            raise _bad(_NOT_MODIFIED.removeprefix("Bad Request: "))
        msg.raw["text"] = text
        msg.parse_mode, msg.plain_text = parse_mode, plain
        return self._finish_edit(chat, msg, markup)

    def _edit_message_caption(self, _token: str, p: JSON) -> JSON | bool:
        caption = p.get("caption")
        parse_mode = p.get("parse_mode") or None
        plain = None if caption is None else _plain(str(caption), parse_mode)
        markup = self._markup(p, inline_only=True)
        target = self._edit_target(p)
        if target is None:
            return True
        chat, msg = target
        if "text" in msg.raw:
            raise _bad("there is no caption in the message to edit")
        if caption == msg.raw.get("caption") and markup == msg.reply_markup:
            raise _bad(_NOT_MODIFIED.removeprefix("Bad Request: "))
        if caption is None:
            msg.raw.pop("caption", None)
        else:
            msg.raw["caption"] = str(caption)
        msg.parse_mode, msg.plain_text = parse_mode, plain
        return self._finish_edit(chat, msg, markup)

    def _edit_message_reply_markup(self, _token: str, p: JSON) -> JSON | bool:
        markup = self._markup(p, inline_only=True)
        target = self._edit_target(p)
        if target is None:
            return True
        chat, msg = target
        if markup == msg.reply_markup:
            raise _bad(_NOT_MODIFIED.removeprefix("Bad Request: "))
        return self._finish_edit(chat, msg, markup)

    def _delete_one(self, chat: ChatState, mid: int) -> bool:
        msg = chat.messages.pop(mid, None)
        if msg is not None:
            msg.deleted = True
            chat.deleted.append(msg)
            chat.log.append(f"bot deleted #{mid}")
            return True
        if chat.user_messages.pop(mid, None) is not None:
            chat.log.append(f"bot deleted user message #{mid}")
            return True
        return False

    def _delete_message(self, _token: str, p: JSON) -> bool:
        chat = self._target_chat(p)
        if not self._delete_one(chat, _as_int(p.get("message_id"), "message_id")):
            raise _bad("message to delete not found")
        return True

    def _delete_messages(self, _token: str, p: JSON) -> bool:
        chat = self._target_chat(p)
        ids = p.get("message_ids") or []
        if not isinstance(ids, list):
            raise _bad("message_ids must be an array")
        for mid in ids:
            self._delete_one(chat, _as_int(mid, "message_ids"))
        return True

    def _answer_callback_query(self, _token: str, p: JSON) -> bool:
        query_id = str(p.get("callback_query_id") or "")
        if query_id not in self._callback_queries or query_id in self.callback_answers:
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        answer = {k: v for k, v in p.items() if k != "callback_query_id"}
        self.callback_answers[query_id] = answer
        chat = self.chats.get(self._callback_queries[query_id])
        if chat is not None:
            shown = answer.get("text")
            chat.log.append(
                f"bot answered callback: {shown!r}" if shown else "bot answered callback"
            )
        return True

    @staticmethod
    def _commands_key(p: JSON) -> tuple[str, str]:
        scope = p.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(p.get("language_code") or "")

    def _set_my_commands(self, _token: str, p: JSON) -> bool:
        commands = p.get("commands")
        if not isinstance(commands, list):
            raise _bad("commands must be an array")
        for command in commands:
            name = str(command.get("command", "")) if isinstance(command, dict) else ""
            if not re.fullmatch(r"[a-z0-9_]{1,32}", name) or not command.get("description"):
                raise _bad("BOT_COMMAND_INVALID")
        self.commands[self._commands_key(p)] = commands
        return True

    def _get_my_commands(self, _token: str, p: JSON) -> list[JSON]:
        return list(self.commands.get(self._commands_key(p), []))

    def _delete_my_commands(self, _token: str, p: JSON) -> bool:
        self.commands.pop(self._commands_key(p), None)
        return True

    def _set_chat_menu_button(self, _token: str, p: JSON) -> bool:
        chat_id = None if p.get("chat_id") is None else _as_int(p["chat_id"], "chat_id")
        button = p.get("menu_button") or {"type": "default"}
        if not isinstance(button, dict) or "type" not in button:
            raise _bad("can't parse menu button JSON object")
        self.menu_buttons[chat_id] = button
        return True

    def _get_chat_menu_button(self, _token: str, p: JSON) -> JSON:
        chat_id = None if p.get("chat_id") is None else _as_int(p["chat_id"], "chat_id")
        fallback = self.menu_buttons.get(None, {"type": "default"})
        return self.menu_buttons.get(chat_id, fallback)

    def _send_chat_action(self, _token: str, p: JSON) -> bool:
        chat = self._target_chat(p)
        self._check_can_send(chat, counts_towards_limit=False)
        chat.actions.append(str(p.get("action")))
        return True

    def _get_file(self, _token: str, p: JSON) -> JSON:
        stored = self._files.get(str(p.get("file_id")))
        if stored is None:
            raise _bad("invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.path,
        }


class FakeUser:
    """A citizen talking to the bot in a private chat (chat id == user id)."""

    def __init__(
        self,
        fake: FakeTelegram,
        user_id: int,
        first_name: str,
        language_code: str | None,
        last_name: str | None = None,
        username: str | None = None,
    ) -> None:
        self.fake = fake
        self.id = user_id
        self.first_name = first_name
        self.language_code = language_code
        self.last_name = last_name
        self.username = username
        self.last_callback_id: str | None = None
        self._cursor = 0

    def as_user(self) -> JSON:
        """The Telegram User object."""
        user: JSON = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            if (value := getattr(self, key)) is not None:
                user[key] = value
        return user

    @property
    def chat(self) -> ChatState:
        return self.fake.chat(self.id)

    # ----------------------------------------------------------------- actions

    def _mark(self) -> None:
        self._cursor = self.chat.version

    async def _send_message_update(self, fields: JSON, log: str) -> JSON:
        chat = self.chat
        message: JSON = {
            "message_id": chat.take_message_id(),
            "from": self.as_user(),
            "chat": chat.chat,
            "date": _now(),
            **fields,
        }
        chat.user_messages[message["message_id"]] = message
        chat.log.append(f"user: {log}")
        self._mark()
        return await self.fake.send_update({"message": message})

    async def send(self, text: str) -> JSON:
        """Type and send a text message; a leading /command gets a bot_command entity."""
        fields: JSON = {"text": text}
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            fields["entities"] = [
                {"type": "bot_command", "offset": 0, "length": _utf16_len(command)}
            ]
        return await self._send_message_update(fields, repr(text))

    async def send_sticker(self, emoji: str = "👍") -> JSON:
        stored = self.fake._register_file("sticker", b"RIFF-fake-webp", "webp")
        sticker = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
            "file_size": len(stored.data),
        }
        return await self._send_message_update({"sticker": sticker}, f"[sticker {emoji}]")

    async def send_photo(self, caption: str | None = None) -> JSON:
        stored = self.fake._register_file("photo", b"\xff\xd8\xff\xe0fake-jpeg", "jpg")
        base = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id}
        sizes = [
            base | {"width": 90, "height": 67, "file_size": 1200},
            base | {"width": 1280, "height": 960, "file_size": len(stored.data)},
        ]
        fields: JSON = {"photo": sizes}
        if caption is not None:
            fields["caption"] = caption
        return await self._send_message_update(fields, f"[photo {caption or ''}]".strip())

    async def send_voice(self, duration: int = 3) -> JSON:
        stored = self.fake._register_file("voice", b"OggS-fake-opus", "oga")
        voice = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": len(stored.data),
        }
        return await self._send_message_update({"voice": voice}, f"[voice {duration}s]")

    async def send_document(self, file_name: str = "scan.pdf", data: bytes = b"%PDF-1.4") -> JSON:
        stored = self.fake._register_file("document", data, file_name.rsplit(".", 1)[-1])
        document = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_name": file_name,
            "file_size": len(data),
        }
        return await self._send_message_update({"document": document}, f"[document {file_name}]")

    async def send_contact(self, phone_number: str = "+77010000000") -> JSON:
        contact = {"phone_number": phone_number, "first_name": self.first_name, "user_id": self.id}
        return await self._send_message_update({"contact": contact}, f"[contact {phone_number}]")

    async def send_location(self, latitude: float = 51.128, longitude: float = 71.43) -> JSON:
        location = {"latitude": latitude, "longitude": longitude}
        return await self._send_message_update({"location": location}, "[location]")

    def _keyboard_message(self, message: BotMessage | int | None) -> BotMessage:
        chat = self.chat
        if isinstance(message, BotMessage):
            return message
        if isinstance(message, int):
            found = chat.messages.get(message)
            if found is None:
                raise AssertionError(f"no bot message #{message} in chat {self.id}")
            return found
        for msg in reversed(chat.messages.values()):
            if msg.reply_markup and msg.reply_markup.get("inline_keyboard"):
                return msg
        raise AssertionError(
            f"no bot message with an inline keyboard in chat {self.id}\n"
            + self.fake.diagnostics(self.id)
        )

    async def press(self, text: str, message: BotMessage | int | None = None) -> JSON:
        """Press the inline button labelled exactly `text` (on the latest keyboard)."""
        msg = self._keyboard_message(message)
        button = msg.button(text)
        if button is None:
            raise AssertionError(
                f"no button {text!r} on message #{msg.message_id} {msg.text!r}; "
                f"available buttons: {msg.buttons()}"
            )
        if "callback_data" not in button:
            raise AssertionError(f"button {text!r} is not a callback button: {button}")
        return await self._callback(str(button["callback_data"]), msg.raw, f"press {text!r}")

    async def press_data(self, data: str, message_id: int | None = None) -> JSON:
        """Send a callback query with arbitrary (possibly forged) `data`."""
        chat = self.chat
        mid = message_id
        if mid is None:
            mid = max(chat.messages) if chat.messages else None
        if mid is not None and mid in chat.messages:
            message: JSON = dict(chat.messages[mid].raw)
        else:
            message = {"chat": chat.chat, "message_id": mid or 1, "date": 0}
        return await self._callback(data, message, f"press_data {data!r}")

    async def _callback(self, data: str, message: JSON, log: str) -> JSON:
        query_id = str(next(self.fake._ids) * 7919 + 10**12)
        self.last_callback_id = query_id
        self.fake._callback_queries[query_id] = self.id
        self.chat.log.append(f"user: {log} (data={data!r})")
        self._mark()
        query = {
            "id": query_id,
            "from": self.as_user(),
            "message": dict(message),
            "chat_instance": f"-{self.id}777",
            "data": data,
        }
        return await self.fake.send_update({"callback_query": query})

    async def block_bot(self) -> JSON:
        """Block the bot: later sends fail with 403 and a my_chat_member update arrives."""
        self.fake.blocked_chats.add(self.id)
        return await self._member_update("member", "kicked", "blocked the bot")

    async def unblock_bot(self) -> JSON:
        """Unblock the bot (Telegram sends my_chat_member kicked → member)."""
        self.fake.blocked_chats.discard(self.id)
        return await self._member_update("kicked", "member", "unblocked the bot")

    async def _member_update(self, old: str, new: str, log: str) -> JSON:
        def member(status: str) -> JSON:
            info: JSON = {"status": status, "user": FakeTelegram.bot_user()}
            return info | {"until_date": 0} if status == "kicked" else info

        self.chat.log.append(f"user: [{log}]")
        self._mark()
        update = {
            "chat": self.chat.chat,
            "from": self.as_user(),
            "date": _now(),
            "old_chat_member": member(old),
            "new_chat_member": member(new),
        }
        return await self.fake.send_update({"my_chat_member": update})

    # ----------------------------------------------------------------- observations

    async def wait_for(
        self,
        predicate: Callable[[], Any],
        timeout: float = 5.0,  # noqa: ASYNC109
        *,
        what: str = "condition",
    ) -> Any:
        """Wait until `predicate()` is truthy; failures show this chat's transcript."""
        return await self.fake.wait_for(predicate, timeout, what=what, chat_id=self.id)

    async def wait_for_message(
        self,
        containing: str | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> BotMessage:
        """Wait for the next bot message or edit since the last action (or last wait).

        With `containing`, skip events whose text lacks it. Consumes the event, so
        consecutive calls return consecutive replies.
        """
        chat = self.chat

        def find() -> ChatEvent | None:
            for event in chat.events[self._cursor :]:
                if containing is None or event.contains(containing):
                    return event
            return None

        what = "a bot message" + (f" containing {containing!r}" if containing else "")
        event: ChatEvent = await self.wait_for(find, timeout, what=f"{what} in chat {self.id}")
        self._cursor = event.version
        return event.message

    async def wait_reply(self, timeout: float = 5.0) -> BotMessage:  # noqa: ASYNC109
        """Shorthand for ``wait_for_message()``."""
        return await self.wait_for_message(timeout=timeout)

    async def wait_callback_answer(self, timeout: float = 5.0) -> JSON:  # noqa: ASYNC109
        """Wait until the bot answers the last pressed callback query; return the answer."""
        query_id = self.last_callback_id
        if query_id is None:
            raise AssertionError("no callback query was sent")
        answers = self.fake.callback_answers
        # An answer without text is an empty dict: wait on presence, not truthiness.
        await self.wait_for(
            lambda: query_id in answers, timeout, what=f"answerCallbackQuery({query_id})"
        )
        answer: JSON = answers[query_id]
        return answer

    @property
    def messages(self) -> list[BotMessage]:
        """Bot messages in this chat (not deleted), oldest first, in their current state."""
        return list(self.chat.messages.values())

    @property
    def last_message(self) -> BotMessage | None:
        messages = self.chat.messages
        return next(reversed(messages.values())) if messages else None

    def buttons(self) -> list[str]:
        """Texts of the inline keyboard on the latest bot message that has one."""
        for msg in reversed(self.chat.messages.values()):
            if msg.reply_markup and msg.reply_markup.get("inline_keyboard"):
                return msg.buttons()
        return []

    @property
    def history(self) -> list[str | None]:
        """Every text the bot sent or edited into this chat, in order."""
        return [event.text for event in self.chat.events]

    @property
    def last_callback_answer(self) -> JSON | None:
        if self.last_callback_id is None:
            return None
        return self.fake.callback_answers.get(self.last_callback_id)

    def transcript(self) -> str:
        """The conversation as readable lines."""
        return "\n".join(self.chat.log)
