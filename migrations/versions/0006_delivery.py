"""Invitation delivery outbox: one Telegram message per invitation, claimed with leases.

Revision ID: 0006_delivery
Revises: 0005_integration
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_delivery"
down_revision: str | Sequence[str] | None = "0005_integration"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STATUSES = ("pending", "sending", "sent", "failed", "blocked")


def upgrade() -> None:
    op.create_table(
        "invitation_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invitation_id", sa.Integer(), nullable=False),
        sa.Column("respondent_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(*_STATUSES, name="delivery_status", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("encrypted_token", sa.LargeBinary(length=256), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claim", sa.String(length=32), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("telegram_message_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["invitation_id"],
            ["invitation.id"],
            name=op.f("fk_invitation_delivery_invitation_id_invitation"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["respondent_id"],
            ["respondent.id"],
            name=op.f("fk_invitation_delivery_respondent_id_respondent"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invitation_delivery")),
        sa.UniqueConstraint("invitation_id", name=op.f("uq_invitation_delivery_invitation_id")),
    )
    with op.batch_alter_table("invitation_delivery") as batch:
        batch.create_index(
            "ix_invitation_delivery_due", ["status", "next_attempt_at"], unique=False
        )
        batch.create_index(
            op.f("ix_invitation_delivery_respondent_id"), ["respondent_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("invitation_delivery")
