"""Pseudonyms, write-back addresses and one-time tokens.

A respondent is known only by an HMAC of the channel's user id with the server secret: the same
person gets the same key, and nobody holding the database can turn a key back into a user id.
The chat id needed to write back is encrypted (Fernet, key derived from the same secret).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from functools import cache

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


def respondent_key(secret: bytes, channel: str, user_id: str | int) -> str:
    """The stable pseudonym of one channel user."""
    keyed = _keyed(secret).copy()  # the key's set-up done once per secret, not per update
    keyed.update(f"{channel}:{user_id}".encode())
    return keyed.hexdigest()


@cache
def _keyed(secret: bytes) -> hmac.HMAC:
    return hmac.new(secret, digestmod=hashlib.sha256)


def _derived(secret: bytes, purpose: str) -> bytes:
    return hmac.new(secret, f"qanagat/{purpose}".encode(), hashlib.sha256).digest()


class AddressBox:
    """Encrypts and decrypts write-back addresses (chat ids) with a key derived from the secret;
    another `purpose` gives another key (the outbox keeps invitation tokens under its own)."""

    def __init__(self, secret: bytes, purpose: str = "chat-address") -> None:
        self._fernet = Fernet(base64.urlsafe_b64encode(_derived(secret, purpose)))

    def seal(self, address: str) -> bytes:
        return self._fernet.encrypt(address.encode())

    def open(self, sealed: bytes) -> str | None:
        try:
            return self._fernet.decrypt(sealed).decode()
        except InvalidToken:
            return None


class SecretBox:
    """Encrypts small secrets kept for later use (an invitation's token, an API key's signing
    secret), each purpose with its own key derived from the server secret. AES-256-GCM with a
    random 96-bit nonce and the purpose as associated data: a value sealed for one purpose
    does not open as another."""

    def __init__(self, secret: bytes, purpose: str) -> None:
        self._aead = AESGCM(_derived(secret, purpose))
        self._purpose = purpose.encode()

    def seal(self, value: str) -> bytes:
        nonce = secrets.token_bytes(12)
        return nonce + self._aead.encrypt(nonce, value.encode(), self._purpose)

    def open(self, sealed: bytes) -> str | None:
        try:
            return self._aead.decrypt(sealed[:12], sealed[12:], self._purpose).decode()
        except (InvalidTag, ValueError, UnicodeDecodeError):
            return None


def new_token() -> str:
    """A single-use token: 128 random bits, safe in URLs and Telegram deep links (22 chars)."""
    return secrets.token_urlsafe(16)


def token_hash(token: str) -> bytes:
    """Tokens are stored hashed; a database leak does not leak usable links."""
    return hashlib.sha256(token.encode()).digest()


class Signer:
    """Short HMAC signatures for values put in links and cookies."""

    def __init__(self, secret: bytes, purpose: str) -> None:
        self._key = _derived(secret, purpose)

    def sign(self, value: str) -> str:
        mac = hmac.new(self._key, value.encode(), hashlib.sha256).digest()[:12]
        return f"{value}.{base64.urlsafe_b64encode(mac).decode().rstrip('=')}"

    def unsign(self, signed: str) -> str | None:
        value, _, _mac = signed.rpartition(".")
        if not value:
            return None
        # Bytes, not str: compare_digest refuses non-ASCII text, and links can carry anything.
        expected = self.sign(value).encode()
        return value if hmac.compare_digest(expected, signed.encode("utf-8", "replace")) else None
