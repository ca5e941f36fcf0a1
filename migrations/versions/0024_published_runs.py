"""Published score runs: when and by whom a run was made public (results pages, open data).

Revision ID: 0024_published_runs
Revises: 0023_security
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024_published_runs"
down_revision: str | Sequence[str] | None = "0023_security"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("score_run") as batch:
        batch.add_column(sa.Column("published_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("published_by", sa.String(length=128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("score_run") as batch:
        batch.drop_column("published_by")
        batch.drop_column("published_at")
