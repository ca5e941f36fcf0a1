"""Response integrity: walk-in passes, anti-gaming signals and flags, the response hash chain.

Revision ID: 0002_integrity
Revises: 0001_initial
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0002_integrity"
down_revision: str | Sequence[str] | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamp(name: str, *, nullable: bool = False, now: bool = False) -> sa.Column[datetime]:
    return sa.Column(
        name,
        sa.DateTime(timezone=True),
        server_default=sa.func.now() if now else None,
        nullable=nullable,
    )


def upgrade() -> None:
    op.create_table(
        "walk_in_pass",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.LargeBinary(length=32), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_walk_in_pass")),
        sa.UniqueConstraint("digest", name=op.f("uq_walk_in_pass_digest")),
    )
    op.create_index(op.f("ix_walk_in_pass_day"), "walk_in_pass", ["day"])
    op.create_table(
        "response_signal",
        sa.Column("response_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("address_digest", sa.LargeBinary(length=32), nullable=True),
        sa.Column("service_point_key", sa.Integer(), nullable=False),
        sa.Column("top_score", sa.Boolean(), nullable=False),
        _timestamp("completed_at", nullable=True),
        sa.Column("counted", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["response_id"],
            ["response.id"],
            name=op.f("fk_response_signal_response_id_response"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("response_id", name=op.f("pk_response_signal")),
    )
    op.create_index(
        "ix_response_signal_address_digest",
        "response_signal",
        ["address_digest", "completed_at"],
    )
    op.create_index(
        "ix_response_signal_service_point_key",
        "response_signal",
        ["service_point_key", "completed_at"],
    )
    op.create_table(
        "response_flag",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("response_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.String(length=300), nullable=False),
        _timestamp("created_at", now=True),
        sa.ForeignKeyConstraint(
            ["response_id"],
            ["response.id"],
            name=op.f("fk_response_flag_response_id_response"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_response_flag")),
        sa.UniqueConstraint(
            "response_id", "reason", name=op.f("uq_response_flag_response_id_reason")
        ),
    )
    op.create_table(
        "ledger_entry",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("response_id", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        _timestamp("created_at", now=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_ledger_entry")),
        sa.UniqueConstraint("response_id", name=op.f("uq_ledger_entry_response_id")),
    )


def downgrade() -> None:
    op.drop_table("ledger_entry")
    op.drop_table("response_flag")
    op.drop_index("ix_response_signal_service_point_key", table_name="response_signal")
    op.drop_index("ix_response_signal_address_digest", table_name="response_signal")
    op.drop_table("response_signal")
    op.drop_index(op.f("ix_walk_in_pass_day"), table_name="walk_in_pass")
    op.drop_table("walk_in_pass")
