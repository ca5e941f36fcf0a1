"""The ledger's queue: completed responses waiting to be chained in batches, so that completing
a response no longer takes the chain's lock.

Revision ID: 0015_bot_perf
Revises: 0009_complaints
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_bot_perf"
down_revision: str | Sequence[str] | None = "0013_admin_perf"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ledger_pending",
        sa.Column("response_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("response_id", name=op.f("pk_ledger_pending")),
    )


def downgrade() -> None:
    op.drop_table("ledger_pending")
