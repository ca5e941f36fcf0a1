"""Open data: the registry of data sets, their users' ratings, and problem reports about a data
set filed as complaints (a complaint is about a service or a data set, never both).

Revision ID: 0010_datasets
Revises: 0009_complaints
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import context, op

revision: str = "0010_datasets"
down_revision: str | Sequence[str] | None = "0009_complaints"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FREQUENCIES = ("daily", "weekly", "monthly", "quarterly", "yearly", "irregular")
STATES = ("planned", "published", "withdrawn")
CHANNELS = ("telegram", "web", "mini_app")
RATING_STATUSES = ("in_progress", "completed")
PROBLEMS = ("missing_fields", "outdated", "broken_link", "wrong_values", "other")
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
COMPLAINT_STATUSES = ("draft", "received", "in_review", "answered", "closed")
ONE_SUBJECT = (
    "(service_id IS NOT NULL AND dataset_id IS NULL)"
    " OR (service_id IS NULL AND dataset_id IS NOT NULL)"
)


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, length=32)


def _timestamp(name: str, *, nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _json() -> sa.types.TypeEngine[object]:
    from sqlalchemy.dialects.postgresql import JSONB

    return sa.JSON().with_variant(JSONB(), "postgresql")


def _complaint_at_0009() -> sa.Table:
    """The complaint table as 0009 left it: batch mode's copy when it cannot reflect (offline)."""
    metadata = sa.MetaData()
    for table in ("agency", "respondent", "response", "public_service", "service_point"):
        sa.Table(table, metadata, sa.Column("id", sa.Integer(), primary_key=True))
    return sa.Table(
        "complaint",
        metadata,
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
        sa.Column("status", _enum("complaint_status", *COMPLAINT_STATUSES), nullable=False),
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
            name="fk_complaint_agency_id_agency",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["respondent_id"],
            ["respondent.id"],
            name="fk_complaint_respondent_id_respondent",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["response_id"],
            ["response.id"],
            name="fk_complaint_response_id_response",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["public_service.id"],
            name="fk_complaint_service_id_public_service",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["service_point_id"],
            ["service_point.id"],
            name="fk_complaint_service_point_id_service_point",
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_complaint"),
        sa.UniqueConstraint("reference", name="uq_complaint_reference"),
        sa.UniqueConstraint("response_id", name="uq_complaint_response_id"),
        sa.Index("ix_complaint_agency_status", "agency_id", "status"),
        sa.Index("ix_complaint_respondent_id", "respondent_id"),
        sa.Index("ix_complaint_service_id", "service_id"),
        sa.Index("ix_complaint_service_point_id", "service_point_id"),
    )


def upgrade() -> None:
    op.create_table(
        "dataset",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=128), nullable=False),
        sa.Column("title_kk", sa.String(length=500), nullable=False),
        sa.Column("title_ru", sa.String(length=500), nullable=False),
        sa.Column("title_en", sa.String(length=500), nullable=True),
        sa.Column("url", sa.String(length=1000), nullable=False),
        sa.Column("update_frequency", _enum("update_frequency", *FREQUENCIES), nullable=False),
        sa.Column("last_updated", sa.Date(), nullable=True),
        sa.Column("state", _enum("dataset_state", *STATES), nullable=False),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        sa.ForeignKeyConstraint(
            ["agency_id"],
            ["agency.id"],
            name=op.f("fk_dataset_agency_id_agency"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dataset")),
        sa.UniqueConstraint("external_id", name=op.f("uq_dataset_external_id")),
    )
    op.create_index("ix_dataset_agency_title", "dataset", ["agency_id", "title_ru"], unique=False)
    op.create_table(
        "dataset_rating",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("respondent_id", sa.Integer(), nullable=True),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("channel", _enum("dataset_rating_channel", *CHANNELS), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("survey_id", sa.String(length=64), nullable=False),
        sa.Column("survey_version", sa.String(length=32), nullable=False),
        sa.Column("status", _enum("dataset_rating_status", *RATING_STATUSES), nullable=False),
        sa.Column("answers", _json(), nullable=False),
        sa.Column("found", sa.Boolean(), nullable=True),
        sa.Column("complete", sa.Boolean(), nullable=True),
        sa.Column("current", sa.Boolean(), nullable=True),
        sa.Column("verifiable", sa.Boolean(), nullable=True),
        sa.Column("overall", sa.Integer(), nullable=True),
        _timestamp("started_at"),
        _timestamp("updated_at"),
        _timestamp("completed_at", nullable=True),
        sa.CheckConstraint(
            "overall IS NULL OR (overall >= 1 AND overall <= 5)",
            name=op.f("ck_dataset_rating_overall"),
        ),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["dataset.id"],
            name=op.f("fk_dataset_rating_dataset_id_dataset"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["respondent_id"],
            ["respondent.id"],
            name=op.f("fk_dataset_rating_respondent_id_respondent"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dataset_rating")),
        sa.UniqueConstraint("dataset_id", "respondent_id", "day", name="uq_dataset_rating_key"),
    )
    op.create_index(
        op.f("ix_dataset_rating_respondent_id"), "dataset_rating", ["respondent_id"], unique=False
    )
    op.create_index(
        "ix_dataset_rating_status_day", "dataset_rating", ["status", "day"], unique=False
    )
    copy_from = _complaint_at_0009() if context.is_offline_mode() else None
    with op.batch_alter_table("complaint", copy_from=copy_from) as batch:
        batch.add_column(sa.Column("dataset_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("dataset_rating_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("problem", _enum("dataset_problem", *PROBLEMS), nullable=True))
        batch.alter_column("service_id", existing_type=sa.Integer(), nullable=True)
        batch.create_foreign_key(
            op.f("fk_complaint_dataset_id_dataset"),
            "dataset",
            ["dataset_id"],
            ["id"],
            ondelete="RESTRICT",
        )
        batch.create_foreign_key(
            op.f("fk_complaint_dataset_rating_id_dataset_rating"),
            "dataset_rating",
            ["dataset_rating_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch.create_unique_constraint(
            op.f("uq_complaint_dataset_rating_id"), ["dataset_rating_id"]
        )
        batch.create_index(op.f("ix_complaint_dataset_id"), ["dataset_id"], unique=False)
        batch.create_check_constraint(op.f("ck_complaint_one_subject"), ONE_SUBJECT)


def downgrade() -> None:
    # A problem report has no service to fall back to: it goes with the data sets.
    for table in ("complaint_notice", "complaint_status_change"):
        op.execute(
            f"DELETE FROM {table} WHERE complaint_id IN"  # noqa: S608 - fixed table names
            " (SELECT id FROM complaint WHERE dataset_id IS NOT NULL)"
        )
    op.execute("DELETE FROM complaint WHERE dataset_id IS NOT NULL")
    with op.batch_alter_table("complaint") as batch:
        batch.drop_constraint(op.f("ck_complaint_one_subject"), type_="check")
        batch.drop_index(op.f("ix_complaint_dataset_id"))
        batch.drop_constraint(op.f("uq_complaint_dataset_rating_id"), type_="unique")
        batch.drop_constraint(
            op.f("fk_complaint_dataset_rating_id_dataset_rating"), type_="foreignkey"
        )
        batch.drop_constraint(op.f("fk_complaint_dataset_id_dataset"), type_="foreignkey")
        batch.alter_column("service_id", existing_type=sa.Integer(), nullable=False)
        batch.drop_column("problem")
        batch.drop_column("dataset_rating_id")
        batch.drop_column("dataset_id")
    op.drop_table("dataset_rating")
    op.drop_table("dataset")
