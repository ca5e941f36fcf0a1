"""Response integrity: anti-gaming flags (`flags`), the hash chain of completed responses
(`ledger`, with the auditor's standalone `audit`), and what a completion queues for the chain
keeper, which counts and chains it (`completion`, `keeper`)."""

from core.integrity.completion import queue_completed

__all__ = ["queue_completed"]
