"""The rollup revision: a counter of changes to rollup counts of days before yesterday, so
pages can remember the sums of older days and read only the open days afresh.

Revision ID: 0013_admin_perf
Revises: 0009_complaints
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_admin_perf"
down_revision: str | Sequence[str] | None = "0012_monthly_rollup"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rollup_revision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rollup_revision")),
    )


def downgrade() -> None:
    op.drop_table("rollup_revision")
