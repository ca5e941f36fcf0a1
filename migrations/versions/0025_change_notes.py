""" "You said, we changed" notes: what an agency changed, public once an administrator approves.

Revision ID: 0025_change_notes
Revises: 0024_published_runs
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025_change_notes"
down_revision: str | Sequence[str] | None = "0024_published_runs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "change_note",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("service_point_id", sa.Integer(), nullable=True),
        sa.Column("text_kk", sa.String(length=1000), nullable=True),
        sa.Column("text_ru", sa.String(length=1000), nullable=True),
        sa.Column("text_en", sa.String(length=1000), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "approved",
                "rejected",
                name="change_note_status",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("written_by", sa.String(length=254), nullable=False),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reviewed_by", sa.String(length=254), nullable=True),
        sa.ForeignKeyConstraint(
            ["agency_id"],
            ["agency.id"],
            name=op.f("fk_change_note_agency_id_agency"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["service_point_id"],
            ["service_point.id"],
            name=op.f("fk_change_note_service_point_id_service_point"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_note")),
    )
    op.create_index("ix_change_note_agency_status", "change_note", ["agency_id", "status"])
    op.create_index(op.f("ix_change_note_service_point_id"), "change_note", ["service_point_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_change_note_service_point_id"), table_name="change_note")
    op.drop_index("ix_change_note_agency_status", table_name="change_note")
    op.drop_table("change_note")
