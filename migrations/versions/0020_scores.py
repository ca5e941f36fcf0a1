"""Score rows say why: a `reason` beside the status (left out, re-weighted, provisional, which
sample was too small). Rows of runs stored before have none, and are read as they were.

Revision ID: 0020_scores
Revises: 0015_bot_perf
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020_scores"
down_revision: str | Sequence[str] | None = "0015_bot_perf"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("score_value") as batch:
        batch.add_column(sa.Column("reason", sa.String(length=1000), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("score_value") as batch:
        batch.drop_column("reason")
