"""A score run keeps what it was computed from (each agency's inputs and kind), so the admin can
show every figure with its inputs' values and draw the sensitivity of ranks from the run
itself; and the rank ranges once drawn. Runs stored before have none: their pages say so.

Revision ID: 0021_scores_admin
Revises: 0020_scores
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021_scores_admin"
down_revision: str | Sequence[str] | None = "0020_scores"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "score_run_input",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("agency", sa.String(length=64), nullable=False),
        sa.Column("input", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Float(precision=53), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["score_run.id"],
            name=op.f("fk_score_run_input_run_id_score_run"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_score_run_input")),
    )
    op.create_index(op.f("ix_score_run_input_run_id"), "score_run_input", ["run_id"], unique=False)
    op.create_table(
        "score_run_agency",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("agency", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["score_run.id"],
            name=op.f("fk_score_run_agency_run_id_score_run"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_score_run_agency")),
        sa.UniqueConstraint("run_id", "agency", name=op.f("uq_score_run_agency_run_id_agency")),
    )
    op.create_table(
        "score_rank_range",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("agency", sa.String(length=64), nullable=False),
        sa.Column("rank_p05", sa.Integer(), nullable=True),
        sa.Column("rank_p95", sa.Integer(), nullable=True),
        sa.Column("value_p05", sa.Float(precision=53), nullable=True),
        sa.Column("value_p95", sa.Float(precision=53), nullable=True),
        sa.Column("grades", sa.JSON(), nullable=False),
        sa.Column("driver", sa.String(length=128), nullable=True),
        sa.Column("driver_effect", sa.Float(precision=53), nullable=True),
        sa.Column("draws", sa.Integer(), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["score_run.id"],
            name=op.f("fk_score_rank_range_run_id_score_run"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_score_rank_range")),
        sa.UniqueConstraint("run_id", "agency", name=op.f("uq_score_rank_range_run_id_agency")),
    )


def downgrade() -> None:
    op.drop_table("score_rank_range")
    op.drop_table("score_run_agency")
    op.drop_index(op.f("ix_score_run_input_run_id"), table_name="score_run_input")
    op.drop_table("score_run_input")
