"""Complaints: the complaint a citizen files about a service, its status history, and the
notices owed to the citizen.

Revision ID: 0009_complaints
Revises: 0008_appeals
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0009_complaints"
down_revision: str | Sequence[str] | None = "0008_appeals"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CATEGORIES = (
    "waiting_time",
    "deadline_missed",
    "unjustified_refusal",
    "extra_documents",
    "rudeness",
    "unclear_information",
    "corruption",
    "other",
)
STATUSES = ("draft", "received", "in_review", "answered", "closed")


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, length=32)


def _timestamp(name: str, *, nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "complaint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=16), nullable=False),
        sa.Column("respondent_id", sa.Integer(), nullable=True),
        sa.Column("response_id", sa.Integer(), nullable=True),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("service_point_id", sa.Integer(), nullable=True),
        sa.Column("category", _enum("complaint_category", *CATEGORIES), nullable=True),
        sa.Column("text", sa.String(length=2000), nullable=True),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("consent_to_answer", sa.Boolean(), nullable=True),
        sa.Column("status", _enum("complaint_status", *STATUSES), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=True),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        _timestamp("received_at", nullable=True),
        _timestamp("in_review_at", nullable=True),
        _timestamp("answered_at", nullable=True),
        _timestamp("closed_at", nullable=True),
        sa.Column("answer_text", sa.String(length=4000), nullable=True),
        sa.Column("answer_rating", sa.Integer(), nullable=True),
        _timestamp("reminded_at", nullable=True),
        _timestamp("overdue_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["agency_id"],
            ["agency.id"],
            name=op.f("fk_complaint_agency_id_agency"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["respondent_id"],
            ["respondent.id"],
            name=op.f("fk_complaint_respondent_id_respondent"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["response_id"],
            ["response.id"],
            name=op.f("fk_complaint_response_id_response"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["public_service.id"],
            name=op.f("fk_complaint_service_id_public_service"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["service_point_id"],
            ["service_point.id"],
            name=op.f("fk_complaint_service_point_id_service_point"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint")),
        sa.UniqueConstraint("reference", name=op.f("uq_complaint_reference")),
        sa.UniqueConstraint("response_id", name=op.f("uq_complaint_response_id")),
    )
    op.create_index(
        "ix_complaint_agency_status", "complaint", ["agency_id", "status"], unique=False
    )
    op.create_index(
        op.f("ix_complaint_respondent_id"), "complaint", ["respondent_id"], unique=False
    )
    op.create_index(op.f("ix_complaint_service_id"), "complaint", ["service_id"], unique=False)
    op.create_index(
        op.f("ix_complaint_service_point_id"), "complaint", ["service_point_id"], unique=False
    )
    op.create_table(
        "complaint_status_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("status", _enum("complaint_history", *STATUSES), nullable=False),
        _timestamp("at"),
        sa.Column("actor", sa.String(length=254), nullable=False),
        sa.ForeignKeyConstraint(
            ["complaint_id"],
            ["complaint.id"],
            name=op.f("fk_complaint_status_change_complaint_id_complaint"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint_status_change")),
    )
    op.create_index(
        op.f("ix_complaint_status_change_complaint_id"),
        "complaint_status_change",
        ["complaint_id"],
        unique=False,
    )
    op.create_table(
        "complaint_notice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("status", _enum("complaint_notice", *STATUSES), nullable=False),
        _timestamp("created_at"),
        _timestamp("sent_at", nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("dropped", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["complaint_id"],
            ["complaint.id"],
            name=op.f("fk_complaint_notice_complaint_id_complaint"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint_notice")),
    )
    op.create_index(
        op.f("ix_complaint_notice_complaint_id"),
        "complaint_notice",
        ["complaint_id"],
        unique=False,
    )
    op.create_index("ix_complaint_notice_sent_at", "complaint_notice", ["sent_at"], unique=False)


def downgrade() -> None:
    op.drop_table("complaint_notice")
    op.drop_table("complaint_status_change")
    op.drop_table("complaint")
