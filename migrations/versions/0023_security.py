"""Security: which integration key reported each service event (a repeat from another key is
told nothing about it); open-data ratings' anti-gaming flag and network digest; the
record of a re-chained ledger.

Revision ID: 0023_security
Revises: 0021_scores_admin
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = "0023_security"
down_revision: str | Sequence[str] | None = "0021_scores_admin"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _service_event_at_0015() -> sa.Table:
    """service_event as 0015 left it: batch mode's copy when it cannot reflect (offline)."""
    metadata = sa.MetaData()
    for table in ("public_service", "service_point", "api_key"):
        sa.Table(table, metadata, sa.Column("id", sa.Integer(), primary_key=True))
    return sa.Table(
        "service_event",
        metadata,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=128), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("service_point_id", sa.Integer(), nullable=True),
        sa.Column(
            "delivery_channel",
            sa.Enum(
                "service_centre",
                "egov",
                "proactive",
                "agency_office",
                name="delivery_channel",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("invitation_outcome", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["public_service.id"],
            name="fk_service_event_service_id_public_service",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["service_point_id"],
            ["service_point.id"],
            name="fk_service_event_service_point_id_service_point",
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_service_event"),
        sa.UniqueConstraint("external_id", name="uq_service_event_external_id"),
        sa.Index("ix_service_event_service_id", "service_id"),
        sa.Index("ix_service_event_service_point_id", "service_point_id"),
    )


def upgrade() -> None:
    copy_from = _service_event_at_0015() if context.is_offline_mode() else None
    with op.batch_alter_table("service_event", copy_from=copy_from) as batch:
        batch.add_column(sa.Column("api_key_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_service_event_api_key_id_api_key"),
            "api_key",
            ["api_key_id"],
            ["id"],
            ondelete="SET NULL",
        )
    with op.batch_alter_table("dataset_rating") as batch:
        batch.add_column(sa.Column("flag", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("address_digest", sa.LargeBinary(length=32), nullable=True))
    op.create_table(
        "ledger_rechain",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("head_seq", sa.Integer(), nullable=False),
        sa.Column("old_head_hash", sa.String(length=64), nullable=False),
        sa.Column("new_head_hash", sa.String(length=64), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_rechain")),
    )


def downgrade() -> None:
    op.drop_table("ledger_rechain")
    with op.batch_alter_table("dataset_rating") as batch:
        batch.drop_column("address_digest")
        batch.drop_column("flag")
    with op.batch_alter_table("service_event") as batch:
        batch.drop_constraint(op.f("fk_service_event_api_key_id_api_key"), type_="foreignkey")
        batch.drop_column("api_key_id")
