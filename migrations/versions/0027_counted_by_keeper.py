"""A completion only queues its response: the chain keeper counts the queue into the rollups
and the funnel, in completion order, when it chains it. The queue row carries what the
response counts (its survey's (metric, value) pairs, decided at completion); rows queued
before this revision were counted at completion and keep NULL there.

Revision ID: 0027_counted_by_keeper
Revises: 0026_abandoned
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027_counted_by_keeper"
down_revision: str | Sequence[str] | None = "0026_abandoned"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ledger_pending") as batch:
        batch.add_column(sa.Column("counts", sa.JSON(), nullable=True))


def downgrade() -> None:
    # The older code counts at completion: a response still waiting here would never be
    # counted. Refuse rather than lose it; the keeper empties the queue within seconds.
    waiting = op.get_bind().scalar(
        sa.text("SELECT count(*) FROM ledger_pending WHERE counts IS NOT NULL")
    )
    if waiting:
        raise RuntimeError(
            f"{waiting} completed responses wait to be counted; run the server until the "
            "queue is empty (`qanagat ledger verify` shows it), then downgrade"
        )
    with op.batch_alter_table("ledger_pending") as batch:
        batch.drop_column("counts")
