"""What is kept of a free-text answer: the text scrubbed of personal data (IIN/BIN, phone
numbers, e-mails, cards, IBANs, introduced names; scoring/privacy.py), before it is stored,
as complaints already are. A survey comment is not the place for a phone number, and what is
never stored cannot leak through an export, a backup or the ledger."""

from __future__ import annotations

from typing import Any

from scoring.privacy import scrub


def kept_answer(value: Any) -> Any:
    """`value` as it may be stored: text scrubbed (choice names and numbers pass unchanged)."""
    return scrub(value) if isinstance(value, str) else value
