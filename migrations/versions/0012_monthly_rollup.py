"""Monthly rollups: the daily rollups summed per month, written with them, so that scoring a
period of months sums a few thousand rows instead of millions. Filled here from the daily rows.

Revision ID: 0012_monthly_rollup
Revises: 0009_complaints
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_monthly_rollup"
down_revision: str | Sequence[str] | None = "0011_staff_chats"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# as core.rollups.MONTHLY_FROM_DAILY, written out: a migration must not change with the code
FILL = (
    "INSERT INTO monthly_rollup "
    "(month, agency_id, service_id, service_point_key, metric, value_key, count) "
    "SELECT substr(day, 1, 7), agency_id, service_id, service_point_key, metric, value_key, "
    "sum(count) FROM daily_rollup "
    "GROUP BY substr(day, 1, 7), agency_id, service_id, service_point_key, metric, value_key"
)


def upgrade() -> None:
    op.create_table(
        "monthly_rollup",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("service_point_key", sa.Integer(), nullable=False),
        sa.Column("metric", sa.String(length=64), nullable=False),
        sa.Column("value_key", sa.String(length=64), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["agency_id"],
            ["agency.id"],
            name=op.f("fk_monthly_rollup_agency_id_agency"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["public_service.id"],
            name=op.f("fk_monthly_rollup_service_id_public_service"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monthly_rollup")),
        sa.UniqueConstraint(
            "month",
            "service_id",
            "service_point_key",
            "metric",
            "value_key",
            name="uq_monthly_rollup_key",
        ),
    )
    op.create_index(op.f("ix_monthly_rollup_agency_id"), "monthly_rollup", ["agency_id"])
    op.create_index("ix_monthly_rollup_metric_month", "monthly_rollup", ["metric", "month"])
    op.execute(FILL)


def downgrade() -> None:
    op.drop_index("ix_monthly_rollup_metric_month", table_name="monthly_rollup")
    op.drop_index(op.f("ix_monthly_rollup_agency_id"), table_name="monthly_rollup")
    op.drop_table("monthly_rollup")
