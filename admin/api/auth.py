"""Who is calling: an API key (Bearer or X-Api-Key), and for keys with a signing secret an
HMAC-SHA256 signature of timestamp and body, fresh (5 minutes) and never seen before."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections import OrderedDict

from aiohttp import web
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from admin.api.errors import ApiError
from core import apikeys
from core.identity import SecretBox
from core.models import ApiKey

SIGNATURE_WINDOW_S = 300
TIMESTAMP_HEADER = "X-Qanagat-Timestamp"
SIGNATURE_HEADER = "X-Qanagat-Signature"
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="qanagat"'}


def _unauthorised(error: str, message: str) -> ApiError:
    return ApiError(401, error, message, headers=_CHALLENGE)


def presented_key(request: web.Request) -> str:
    """The key the request carries; 401 when there is none."""
    header = request.headers.get("Authorization")
    if header is not None:
        scheme, _, value = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise _unauthorised(
                "unsupported_authorization",
                "the Authorization header must be 'Bearer <API key>'",
            )
        return value.strip()
    key = request.headers.get("X-Api-Key", "").strip()
    if not key:
        raise _unauthorised(
            "missing_api_key",
            "no API key: send it as 'Authorization: Bearer <key>' or in 'X-Api-Key'",
        )
    return key


async def authenticate(session: AsyncSession, request: web.Request) -> ApiKey:
    key = presented_key(request)
    found = await apikeys.find(session, key)
    if found is None:
        raise _unauthorised("invalid_api_key", "the API key is not valid")
    if found.revoked_at is not None:
        raise _unauthorised(
            "revoked_api_key",
            f"this API key was revoked on {found.revoked_at:%Y-%m-%d}; ask for a new one",
        )
    return found


class SeenSignatures:
    """Signatures already accepted within the window: in Redis (shared by all workers) when
    configured, else in this process's memory (bounded)."""

    def __init__(self, redis: Redis | None, capacity: int = 200_000) -> None:
        self.redis = redis
        self.capacity = capacity
        self._local: OrderedDict[str, float] = OrderedDict()

    async def first_time(self, signature: str) -> bool:
        # Kept twice the window: a timestamp may be up to a window early or late.
        ttl = 2 * SIGNATURE_WINDOW_S
        if self.redis is not None:
            return bool(await self.redis.set(f"qanagat:api:sig:{signature}", 1, nx=True, ex=ttl))
        now = time.monotonic()
        while self._local and next(iter(self._local.values())) < now:
            self._local.popitem(last=False)
        if signature in self._local:
            return False
        self._local[signature] = now + ttl
        if len(self._local) > self.capacity:
            self._local.popitem(last=False)
        return True


def expected_signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


async def check_signature(
    request: web.Request,
    api_key: ApiKey,
    body: bytes,
    box: SecretBox,
    seen: SeenSignatures,
    now: float | None = None,
) -> None:
    """Nothing to check for keys without a signing secret; otherwise 401 or 409."""
    if api_key.sealed_signing_secret is None:
        return
    secret = box.open(api_key.sealed_signing_secret)
    if secret is None:  # the server secret changed since the key was made
        raise _unauthorised(
            "invalid_api_key", "this API key's signing secret cannot be read; make a new key"
        )
    timestamp = request.headers.get(TIMESTAMP_HEADER, "").strip()
    signature = request.headers.get(SIGNATURE_HEADER, "").strip()
    if not timestamp or not signature:
        raise _unauthorised(
            "signature_required",
            f"this API key requires signed requests: send {TIMESTAMP_HEADER} (Unix seconds) "
            f"and {SIGNATURE_HEADER}: sha256=<hex HMAC-SHA256 of timestamp + '.' + body>",
        )
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        raise _unauthorised(
            "bad_timestamp", f"{TIMESTAMP_HEADER} must be Unix time in whole seconds"
        )
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > SIGNATURE_WINDOW_S:
        raise _unauthorised(
            "stale_timestamp",
            f"{TIMESTAMP_HEADER} is more than {SIGNATURE_WINDOW_S // 60} minutes away from "
            "the server's time; sign the request again (and check the sender's clock)",
        )
    expected = expected_signature(secret, timestamp, body)
    if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
        raise _unauthorised(
            "bad_signature",
            f"{SIGNATURE_HEADER} does not match: expected sha256=<hex HMAC-SHA256 with the "
            "key's signing secret of timestamp + '.' + the exact body bytes>",
        )
    if not await seen.first_time(signature):
        raise ApiError(
            409,
            "replayed_request",
            "this signature was already used; sign each request anew with a fresh timestamp",
        )
