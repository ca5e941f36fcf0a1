"""Scoring: imported indicators and stored score runs (tables of core/models.py's end).

Revision ID: 0004_scoring
Revises: 0003_admin
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0004_scoring"
down_revision: str | Sequence[str] | None = "0003_admin"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamp(name: str) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "indicator_value",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_code", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("input", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Float(precision=53), nullable=False),
        sa.Column(
            "agency_kind",
            sa.Enum("central", "local", name="indicator_kind", native_enum=False, length=32),
            nullable=True,
        ),
        sa.Column("source_file", sa.String(length=300), nullable=False),
        _timestamp("imported_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_indicator_value")),
        sa.UniqueConstraint(
            "agency_code",
            "period",
            "input",
            name=op.f("uq_indicator_value_agency_code_period_input"),
        ),
    )
    op.create_table(
        "score_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("methodology", sa.String(length=64), nullable=False),
        sa.Column("methodology_version", sa.String(length=32), nullable=False),
        sa.Column("methodology_hash", sa.String(length=64), nullable=False),
        sa.Column("inputs_hash", sa.String(length=64), nullable=False),
        sa.Column("agencies_hash", sa.String(length=64), nullable=False),
        sa.Column("min_sample", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("code_version", sa.String(length=64), nullable=False),
        _timestamp("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_score_run")),
    )
    op.create_table(
        "score_value",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("agency", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("node", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Float(precision=53), nullable=True),
        sa.Column("grade", sa.String(length=32), nullable=True),
        sa.Column("n", sa.Integer(), nullable=True),
        sa.Column("ci_low", sa.Float(precision=53), nullable=True),
        sa.Column("ci_high", sa.Float(precision=53), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("missing_inputs", sa.String(length=1000), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["score_run.id"],
            name=op.f("fk_score_value_run_id_score_run"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_score_value")),
        sa.UniqueConstraint(
            "run_id",
            "agency",
            "period",
            "node",
            name=op.f("uq_score_value_run_id_agency_period_node"),
        ),
    )


def downgrade() -> None:
    op.drop_table("score_value")
    op.drop_table("score_run")
    op.drop_table("indicator_value")
