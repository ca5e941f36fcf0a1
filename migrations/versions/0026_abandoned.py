"""Unfinished responses whose invitation expired are closed as `abandoned` by the worker (a
status value: the column is a plain string, no type to change), and counted in the funnel's
new `abandoned` column, on the day the service was delivered like every other step.

Revision ID: 0026_abandoned
Revises: 0025_change_notes
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026_abandoned"
down_revision: str | Sequence[str] | None = "0025_change_notes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("funnel_daily") as batch:
        batch.add_column(sa.Column("abandoned", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    op.execute("UPDATE response SET status = 'stopped' WHERE status = 'abandoned'")
    with op.batch_alter_table("funnel_daily") as batch:
        batch.drop_column("abandoned")
