"""Integration API: API keys, chat links, the invitation funnel, sampling per service, the
invitation's respondent and sealed token, and the outcome of each service event.

Revision ID: 0005_integration
Revises: 0004_scoring
Create Date: 2026-12-01

Batch mode (render_as_batch in env.py) rebuilds the altered tables on SQLite.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import context, op

revision: str = "0005_integration"
down_revision: str | Sequence[str] | None = "0004_scoring"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamp(name: str, *, nullable: bool = False, now: bool = False) -> sa.Column[datetime]:
    return sa.Column(
        name,
        sa.DateTime(timezone=True),
        server_default=sa.func.now() if now else None,
        nullable=nullable,
    )


def _invitation_at_0001() -> sa.Table:
    """The invitation table as 0001 made it: batch mode needs it to render SQL offline on
    SQLite, where it cannot reflect the table (online it reflects the real one)."""
    return sa.Table(
        "invitation",
        sa.MetaData(),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_event_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("survey_id", sa.String(length=64), nullable=False),
        _timestamp("created_at", now=True),
        _timestamp("expires_at"),
        _timestamp("used_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["service_event_id"],
            ["service_event.id"],
            name="fk_invitation_service_event_id_service_event",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_invitation"),
        sa.UniqueConstraint("service_event_id", name="uq_invitation_service_event_id"),
        sa.UniqueConstraint("token_hash", name="uq_invitation_token_hash"),
    )


def upgrade() -> None:
    with op.batch_alter_table("public_service") as batch:
        batch.add_column(
            sa.Column("invitation_sample_every", sa.Integer(), server_default="1", nullable=False)
        )
    with op.batch_alter_table("service_event") as batch:
        batch.add_column(sa.Column("invitation_outcome", sa.String(length=16), nullable=True))
    copy_from = _invitation_at_0001() if context.is_offline_mode() else None
    with op.batch_alter_table("invitation", copy_from=copy_from) as batch:
        batch.add_column(sa.Column("respondent_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("sealed_token", sa.LargeBinary(length=256), nullable=True))
        batch.create_foreign_key(
            op.f("fk_invitation_respondent_id_respondent"),
            "respondent",
            ["respondent_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch.create_index(op.f("ix_invitation_respondent_id"), ["respondent_id"], unique=False)
    op.create_table(
        "api_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("key_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("agency_codes", sa.JSON(), nullable=True),
        sa.Column("sealed_signing_secret", sa.LargeBinary(length=256), nullable=True),
        _timestamp("created_at", now=True),
        _timestamp("revoked_at", nullable=True),
        _timestamp("last_used_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_key")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_key_key_hash")),
    )
    op.create_table(
        "chat_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("respondent_id", sa.Integer(), nullable=False),
        _timestamp("created_at", now=True),
        _timestamp("revoked_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["respondent_id"],
            ["respondent.id"],
            name=op.f("fk_chat_link_respondent_id_respondent"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_link")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_chat_link_code_hash")),
    )
    op.create_index(
        op.f("ix_chat_link_respondent_id"), "chat_link", ["respondent_id"], unique=False
    )
    op.create_table(
        "funnel_daily",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("service_point_key", sa.Integer(), nullable=False),
        sa.Column("served", sa.Integer(), nullable=False),
        sa.Column("invited", sa.Integer(), nullable=False),
        sa.Column("delivered", sa.Integer(), nullable=False),
        sa.Column("started", sa.Integer(), nullable=False),
        sa.Column("completed", sa.Integer(), nullable=False),
        _timestamp("updated_at", now=True),
        sa.ForeignKeyConstraint(
            ["agency_id"],
            ["agency.id"],
            name=op.f("fk_funnel_daily_agency_id_agency"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["public_service.id"],
            name=op.f("fk_funnel_daily_service_id_public_service"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_funnel_daily")),
        sa.UniqueConstraint("day", "service_id", "service_point_key", name="uq_funnel_daily_key"),
    )
    op.create_index(op.f("ix_funnel_daily_agency_id"), "funnel_daily", ["agency_id"], unique=False)


def downgrade() -> None:
    op.drop_table("funnel_daily")
    op.drop_table("chat_link")
    op.drop_table("api_key")
    with op.batch_alter_table("invitation") as batch:
        batch.drop_index(op.f("ix_invitation_respondent_id"))
        batch.drop_constraint(op.f("fk_invitation_respondent_id_respondent"), type_="foreignkey")
        batch.drop_column("sealed_token")
        batch.drop_column("respondent_id")
    with op.batch_alter_table("service_event") as batch:
        batch.drop_column("invitation_outcome")
    with op.batch_alter_table("public_service") as batch:
        batch.drop_column("invitation_sample_every")
