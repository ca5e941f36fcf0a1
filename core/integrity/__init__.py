"""Response integrity: anti-gaming flags (`flags`), the hash chain of completed responses
(`ledger`, with the auditor's standalone `audit`), and the completion hook that runs both."""

from core.integrity.completion import on_completed

__all__ = ["on_completed"]
