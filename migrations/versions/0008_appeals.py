"""Appeals imported from the appeals-register export, one per external id.

Revision ID: 0008_appeals
Revises: 0007_explore
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_appeals"
down_revision: str | Sequence[str] | None = "0007_explore"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "appeal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("agency_code", sa.String(length=64), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("answered_on", sa.Date(), nullable=True),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("court_upheld", sa.Boolean(), nullable=False),
        sa.Column("repeat", sa.Boolean(), nullable=False),
        sa.Column("service_code", sa.String(length=64), nullable=True),
        sa.Column("channel", sa.String(length=64), nullable=True),
        sa.Column("source_file", sa.String(length=300), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appeal")),
        sa.UniqueConstraint("external_id", name=op.f("uq_appeal_external_id")),
    )
    op.create_index(op.f("ix_appeal_agency_code"), "appeal", ["agency_code"], unique=False)
    op.create_index(op.f("ix_appeal_answered_on"), "appeal", ["answered_on"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_appeal_answered_on"), table_name="appeal")
    op.drop_index(op.f("ix_appeal_agency_code"), table_name="appeal")
    op.drop_table("appeal")
