"""Initial schema: every table of core/models.py.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-22

Constraint names come from the models' naming convention (op.f: used verbatim). Timestamps
default to the database's now(); the other defaults of the models are Python-side only.
Enums are plain VARCHAR(32) columns (native_enum=False, no CHECK), so new values need no
migration and there are no database types to drop.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "0001_initial"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamp(name: str, *, nullable: bool = False, now: bool = False) -> sa.Column[datetime]:
    return sa.Column(
        name,
        sa.DateTime(timezone=True),
        server_default=sa.func.now() if now else None,
        nullable=nullable,
    )


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, length=32)


def upgrade() -> None:
    op.create_table(
        "agency",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("kind", _enum("agency_kind", "central", "local"), nullable=False),
        sa.Column("region", sa.String(length=64), nullable=True),
        sa.Column("name_kk", sa.String(length=300), nullable=False),
        sa.Column("name_ru", sa.String(length=300), nullable=False),
        sa.Column("name_en", sa.String(length=300), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agency")),
        sa.UniqueConstraint("code", name=op.f("uq_agency_code")),
    )
    op.create_table(
        "respondent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=True),
        _timestamp("created_at", now=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_respondent")),
        sa.UniqueConstraint("key", name=op.f("uq_respondent_key")),
    )
    op.create_table(
        "chat_address",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("respondent_id", sa.Integer(), nullable=False),
        sa.Column("channel", _enum("chat_channel", "telegram", "web", "mini_app"), nullable=False),
        sa.Column("encrypted_address", sa.LargeBinary(length=512), nullable=False),
        _timestamp("created_at", now=True),
        sa.ForeignKeyConstraint(
            ["respondent_id"],
            ["respondent.id"],
            name=op.f("fk_chat_address_respondent_id_respondent"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_address")),
        sa.UniqueConstraint("respondent_id", name=op.f("uq_chat_address_respondent_id")),
    )
    op.create_table(
        "public_service",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("name_kk", sa.String(length=300), nullable=False),
        sa.Column("name_ru", sa.String(length=300), nullable=False),
        sa.Column("name_en", sa.String(length=300), nullable=False),
        sa.Column("survey_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"],
            ["agency.id"],
            name=op.f("fk_public_service_agency_id_agency"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_public_service")),
        sa.UniqueConstraint("code", name=op.f("uq_public_service_code")),
    )
    op.create_index(
        op.f("ix_public_service_agency_id"), "public_service", ["agency_id"], unique=False
    )
    op.create_table(
        "service_point",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("region", sa.String(length=64), nullable=True),
        sa.Column("name_kk", sa.String(length=300), nullable=False),
        sa.Column("name_ru", sa.String(length=300), nullable=False),
        sa.Column("name_en", sa.String(length=300), nullable=False),
        sa.Column("address", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["agency_id"],
            ["agency.id"],
            name=op.f("fk_service_point_agency_id_agency"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_point")),
        sa.UniqueConstraint("code", name=op.f("uq_service_point_code")),
    )
    op.create_index(
        op.f("ix_service_point_agency_id"), "service_point", ["agency_id"], unique=False
    )
    op.create_table(
        "daily_rollup",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("service_point_key", sa.Integer(), nullable=False),
        sa.Column("metric", sa.String(length=64), nullable=False),
        sa.Column("value_key", sa.String(length=64), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        _timestamp("updated_at", now=True),
        sa.ForeignKeyConstraint(
            ["agency_id"],
            ["agency.id"],
            name=op.f("fk_daily_rollup_agency_id_agency"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["public_service.id"],
            name=op.f("fk_daily_rollup_service_id_public_service"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_daily_rollup")),
        sa.UniqueConstraint(
            "day",
            "service_id",
            "service_point_key",
            "metric",
            "value_key",
            name="uq_daily_rollup_key",
        ),
    )
    op.create_index(op.f("ix_daily_rollup_agency_id"), "daily_rollup", ["agency_id"], unique=False)
    op.create_index("ix_daily_rollup_service_id", "daily_rollup", ["service_id"], unique=False)
    op.create_table(
        "service_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=128), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("service_point_id", sa.Integer(), nullable=True),
        sa.Column(
            "delivery_channel",
            _enum("delivery_channel", "service_centre", "egov", "proactive", "agency_office"),
            nullable=False,
        ),
        _timestamp("delivered_at"),
        _timestamp("created_at", now=True),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["public_service.id"],
            name=op.f("fk_service_event_service_id_public_service"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["service_point_id"],
            ["service_point.id"],
            name=op.f("fk_service_event_service_point_id_service_point"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_event")),
        sa.UniqueConstraint("external_id", name=op.f("uq_service_event_external_id")),
    )
    op.create_index(
        op.f("ix_service_event_service_id"), "service_event", ["service_id"], unique=False
    )
    op.create_index(
        op.f("ix_service_event_service_point_id"),
        "service_event",
        ["service_point_id"],
        unique=False,
    )
    op.create_table(
        "invitation",
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
            name=op.f("fk_invitation_service_event_id_service_event"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invitation")),
        sa.UniqueConstraint("service_event_id", name=op.f("uq_invitation_service_event_id")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_invitation_token_hash")),
    )
    op.create_table(
        "response",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("respondent_id", sa.Integer(), nullable=True),
        sa.Column("survey_id", sa.String(length=64), nullable=False),
        sa.Column("survey_version", sa.String(length=32), nullable=False),
        sa.Column(
            "channel", _enum("response_channel", "telegram", "web", "mini_app"), nullable=False
        ),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column(
            "status",
            _enum("response_status", "in_progress", "completed", "stopped"),
            nullable=False,
        ),
        sa.Column("invitation_id", sa.Integer(), nullable=True),
        sa.Column("service_event_id", sa.Integer(), nullable=True),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("service_point_id", sa.Integer(), nullable=True),
        sa.Column("walk_in", sa.Boolean(), nullable=False),
        _timestamp("started_at", now=True),
        _timestamp("updated_at", now=True),
        _timestamp("completed_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["invitation_id"],
            ["invitation.id"],
            name=op.f("fk_response_invitation_id_invitation"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["respondent_id"],
            ["respondent.id"],
            name=op.f("fk_response_respondent_id_respondent"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["service_event_id"],
            ["service_event.id"],
            name=op.f("fk_response_service_event_id_service_event"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["public_service.id"],
            name=op.f("fk_response_service_id_public_service"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["service_point_id"],
            ["service_point.id"],
            name=op.f("fk_response_service_point_id_service_point"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_response")),
        sa.UniqueConstraint("invitation_id", name=op.f("uq_response_invitation_id")),
        sa.UniqueConstraint("service_event_id", name=op.f("uq_response_service_event_id")),
    )
    op.create_index("ix_response_completed_at", "response", ["completed_at"], unique=False)
    op.create_index(
        "ix_response_respondent_status", "response", ["respondent_id", "status"], unique=False
    )
    op.create_index(op.f("ix_response_service_id"), "response", ["service_id"], unique=False)
    op.create_index(
        op.f("ix_response_service_point_id"), "response", ["service_point_id"], unique=False
    )
    op.create_table(
        "answer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("response_id", sa.Integer(), nullable=False),
        sa.Column("question", sa.String(length=64), nullable=False),
        sa.Column(
            "value",
            sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
            nullable=True,
        ),
        _timestamp("answered_at", now=True),
        sa.ForeignKeyConstraint(
            ["response_id"],
            ["response.id"],
            name=op.f("fk_answer_response_id_response"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_answer")),
        sa.UniqueConstraint("response_id", "question", name=op.f("uq_answer_response_id_question")),
    )
    op.create_table(
        "complaint_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("response_id", sa.Integer(), nullable=False),
        _timestamp("created_at", now=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["response_id"],
            ["response.id"],
            name=op.f("fk_complaint_request_response_id_response"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint_request")),
        sa.UniqueConstraint("response_id", name=op.f("uq_complaint_request_response_id")),
    )


def downgrade() -> None:
    # Referencing tables before the tables they reference; indexes go with their tables.
    op.drop_table("complaint_request")
    op.drop_table("answer")
    op.drop_table("response")
    op.drop_table("invitation")
    op.drop_table("service_event")
    op.drop_table("daily_rollup")
    op.drop_table("service_point")
    op.drop_table("public_service")
    op.drop_table("chat_address")
    op.drop_table("respondent")
    op.drop_table("agency")
