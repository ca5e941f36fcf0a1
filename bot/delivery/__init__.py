"""Invitation delivery: the outbox dispatcher and its pacing."""
