"""Admin explorer: uploaded indicator files (checked, then stored on confirmation), the
indexes the responses explorer reads newest-first within a service or an office, and the
rollups' (metric, day) and (agency, metric, day) indexes the pages read a period through.

Revision ID: 0007_explore
Revises: 0006_delivery
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_explore"
down_revision: str | Sequence[str] | None = "0006_delivery"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "indicator_upload",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=254), nullable=False),
        sa.Column("filename", sa.String(length=300), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("problems", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["admin_user.id"],
            name=op.f("fk_indicator_upload_user_id_admin_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_indicator_upload")),
        sa.UniqueConstraint("token", name=op.f("uq_indicator_upload_token")),
    )
    op.create_index("ix_indicator_upload_created_at", "indicator_upload", ["created_at"])
    op.create_index(op.f("ix_indicator_upload_user_id"), "indicator_upload", ["user_id"])
    op.create_index("ix_response_service_completed", "response", ["service_id", "completed_at"])
    op.create_index("ix_response_point_completed", "response", ["service_point_id", "completed_at"])
    op.create_index("ix_daily_rollup_metric_day", "daily_rollup", ["metric", "day"])
    op.create_index(
        "ix_daily_rollup_agency_metric_day", "daily_rollup", ["agency_id", "metric", "day"]
    )


def downgrade() -> None:
    op.drop_index("ix_daily_rollup_agency_metric_day", table_name="daily_rollup")
    op.drop_index("ix_daily_rollup_metric_day", table_name="daily_rollup")
    op.drop_index("ix_response_point_completed", table_name="response")
    op.drop_index("ix_response_service_completed", table_name="response")
    op.drop_index(op.f("ix_indicator_upload_user_id"), table_name="indicator_upload")
    op.drop_index("ix_indicator_upload_created_at", table_name="indicator_upload")
    op.drop_table("indicator_upload")
