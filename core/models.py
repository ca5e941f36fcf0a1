"""Database models. Business rules the code relies on are unique constraints, so the database
refuses what the code must never do (two answers to one question, two responses to one event)."""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    TypeDecorator,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """Timestamps are aware and in UTC on every database (SQLite would hand back naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use datetime.now(UTC)")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UtcDateTime()}


class AgencyKind(enum.StrEnum):
    CENTRAL = "central"
    LOCAL = "local"


class ResponseStatus(enum.StrEnum):
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    STOPPED = "stopped"
    # Unfinished when its invitation expired: closed by the worker, counted in the funnel.
    ABANDONED = "abandoned"


class Channel(enum.StrEnum):
    """Where the citizen answered."""

    TELEGRAM = "telegram"
    WEB = "web"
    MINI_APP = "mini_app"


class DeliveryChannel(enum.StrEnum):
    """How the service itself was delivered."""

    SERVICE_CENTRE = "service_centre"
    EGOV = "egov"
    PROACTIVE = "proactive"
    AGENCY_OFFICE = "agency_office"


def _enum(cls: type[enum.StrEnum], name: str) -> Enum:
    # Stored as plain strings (no native PG enum): new values need no type migration.
    return Enum(cls, name=name, native_enum=False, length=32, values_callable=_values)


def _values(cls: type[enum.StrEnum]) -> list[str]:
    return [member.value for member in cls]


class Agency(Base):
    __tablename__ = "agency"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[AgencyKind] = mapped_column(_enum(AgencyKind, "agency_kind"))
    region: Mapped[str | None] = mapped_column(String(64))
    name_kk: Mapped[str] = mapped_column(String(300))
    name_ru: Mapped[str] = mapped_column(String(300))
    name_en: Mapped[str] = mapped_column(String(300))
    language: Mapped[str] = mapped_column(String(2), default="kk")

    services: Mapped[list[PublicService]] = relationship(back_populates="agency")

    def name(self, lang: str) -> str:
        return str(getattr(self, f"name_{lang}", None) or self.name_ru)


class PublicService(Base):
    __tablename__ = "public_service"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="RESTRICT"), index=True)
    name_kk: Mapped[str] = mapped_column(String(300))
    name_ru: Mapped[str] = mapped_column(String(300))
    name_en: Mapped[str] = mapped_column(String(300))
    survey_id: Mapped[str] = mapped_column(String(64), default="post_service")
    # Invite 1 in N of this service's events (1: every one); which ones is fixed by the event.
    invitation_sample_every: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    agency: Mapped[Agency] = relationship(back_populates="services")

    def name(self, lang: str) -> str:
        return str(getattr(self, f"name_{lang}", None) or self.name_ru)


class ServicePoint(Base):
    """An office where services are delivered (a service centre, an akimat's front desk)."""

    __tablename__ = "service_point"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="RESTRICT"), index=True)
    region: Mapped[str | None] = mapped_column(String(64))
    name_kk: Mapped[str] = mapped_column(String(300))
    name_ru: Mapped[str] = mapped_column(String(300))
    name_en: Mapped[str] = mapped_column(String(300))
    address: Mapped[str | None] = mapped_column(String(500))

    agency: Mapped[Agency] = relationship()

    def name(self, lang: str) -> str:
        return str(getattr(self, f"name_{lang}", None) or self.name_ru)


class ServiceEvent(Base):
    """One delivered service, as reported by a service-delivery system."""

    __tablename__ = "service_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(128), unique=True)
    service_id: Mapped[int] = mapped_column(
        ForeignKey("public_service.id", ondelete="RESTRICT"), index=True
    )
    service_point_id: Mapped[int | None] = mapped_column(
        ForeignKey("service_point.id", ondelete="RESTRICT"), index=True
    )
    delivery_channel: Mapped[DeliveryChannel] = mapped_column(
        _enum(DeliveryChannel, "delivery_channel")
    )
    delivered_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    # What the integration API decided (issued, not_sampled, cooldown): a repeat of the event
    # is told the same thing.
    invitation_outcome: Mapped[str | None] = mapped_column(String(16))
    # The integration key that reported it: only that key is handed the invitation again when
    # the event is repeated (another key of the agency learns nothing about it).
    api_key_id: Mapped[int | None] = mapped_column(
        ForeignKey("api_key.id", ondelete="SET NULL"), nullable=True
    )

    service: Mapped[PublicService] = relationship()
    service_point: Mapped[ServicePoint | None] = relationship()


class Invitation(Base):
    """A single-use invitation to rate one service event. Only the token's hash is stored."""

    __tablename__ = "invitation"

    id: Mapped[int] = mapped_column(primary_key=True)
    service_event_id: Mapped[int] = mapped_column(
        ForeignKey("service_event.id", ondelete="CASCADE"), unique=True
    )
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    survey_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    # The citizen it is for, when the event carried a recognised chat reference (the dispatcher
    # delivers it to them in Telegram); None for links printed on a receipt.
    respondent_id: Mapped[int | None] = mapped_column(
        ForeignKey("respondent.id", ondelete="SET NULL"), index=True
    )
    # The token, encrypted with a key derived from the server secret, so that a repeated event
    # gets the same link back; a database alone still opens no invitation.
    sealed_token: Mapped[bytes | None] = mapped_column(LargeBinary(256))

    service_event: Mapped[ServiceEvent] = relationship()


class Respondent(Base):
    """A pseudonym: an HMAC of the channel's user id. No name, phone or chat id lives here."""

    __tablename__ = "respondent"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    language: Mapped[str | None] = mapped_column(String(2))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class ChatAddress(Base):
    """How to write back to a respondent: apart from the answers, encrypted, deleted on /stop."""

    __tablename__ = "chat_address"

    id: Mapped[int] = mapped_column(primary_key=True)
    respondent_id: Mapped[int] = mapped_column(
        ForeignKey("respondent.id", ondelete="CASCADE"), unique=True
    )
    channel: Mapped[Channel] = mapped_column(_enum(Channel, "chat_channel"))
    encrypted_address: Mapped[bytes] = mapped_column(LargeBinary(512))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class Response(Base):
    """One citizen's answers to one survey about one service (partial until completed)."""

    __tablename__ = "response"
    __table_args__ = (
        Index("ix_response_respondent_status", "respondent_id", "status"),
        Index("ix_response_completed_at", "completed_at"),
        # the admin's responses explorer: newest first within a service or an office
        Index("ix_response_service_completed", "service_id", "completed_at"),
        Index("ix_response_point_completed", "service_point_id", "completed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    respondent_id: Mapped[int | None] = mapped_column(
        ForeignKey("respondent.id", ondelete="SET NULL")
    )
    survey_id: Mapped[str] = mapped_column(String(64))
    survey_version: Mapped[str] = mapped_column(String(32))
    channel: Mapped[Channel] = mapped_column(_enum(Channel, "response_channel"))
    language: Mapped[str] = mapped_column(String(2))
    status: Mapped[ResponseStatus] = mapped_column(
        _enum(ResponseStatus, "response_status"), default=ResponseStatus.IN_PROGRESS
    )
    # One response per service event and per invitation: enforced here, not only in code.
    invitation_id: Mapped[int | None] = mapped_column(
        ForeignKey("invitation.id", ondelete="SET NULL"), unique=True
    )
    service_event_id: Mapped[int | None] = mapped_column(
        ForeignKey("service_event.id", ondelete="SET NULL"), unique=True
    )
    service_id: Mapped[int] = mapped_column(
        ForeignKey("public_service.id", ondelete="RESTRICT"), index=True
    )
    service_point_id: Mapped[int | None] = mapped_column(
        ForeignKey("service_point.id", ondelete="RESTRICT"), index=True
    )
    walk_in: Mapped[bool] = mapped_column(Boolean, default=False)
    started_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())
    completed_at: Mapped[datetime | None]

    answers: Mapped[list[Answer]] = relationship(
        back_populates="response", cascade="all, delete-orphan", order_by="Answer.id"
    )
    service: Mapped[PublicService] = relationship()


class Answer(Base):
    """One answer to one question; `value` is JSON (null when an optional question was skipped)."""

    __tablename__ = "answer"
    __table_args__ = (UniqueConstraint("response_id", "question"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("response.id", ondelete="CASCADE"))
    question: Mapped[str] = mapped_column(String(64))
    # JSONB on PostgreSQL: comparable and indexable when scoring needs to look inside.
    value: Mapped[Any] = mapped_column(JSON().with_variant(JSONB(), "postgresql"), nullable=True)
    answered_at: Mapped[datetime] = mapped_column(server_default=func.now())

    response: Mapped[Response] = relationship(back_populates="answers")


class ComplaintRequest(Base):
    """A citizen asked to file a complaint after a low rating; "filed" once they filed it."""

    __tablename__ = "complaint_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(
        ForeignKey("response.id", ondelete="CASCADE"), unique=True
    )
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    status: Mapped[str] = mapped_column(String(32), default="requested")


class DailyRollup(Base):
    """Completed responses per agency x service x office x day: what dashboards and scoring read."""

    __tablename__ = "daily_rollup"
    __table_args__ = (
        # Named explicitly: the convention's name would pass PostgreSQL's 63-character limit.
        UniqueConstraint(
            "day",
            "service_id",
            "service_point_key",
            "metric",
            "value_key",
            name="uq_daily_rollup_key",
        ),
        Index("ix_daily_rollup_service_id", "service_id"),
        # national figures of a period (overview, agency list): one metric, a range of days
        Index("ix_daily_rollup_metric_day", "metric", "day"),
        # one agency's figures of a period (agency, service and office pages)
        Index("ix_daily_rollup_agency_metric_day", "agency_id", "metric", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[str] = mapped_column(String(10))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="CASCADE"), index=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("public_service.id", ondelete="CASCADE"))
    # 0 when the response has no office (eGov, proactive): keeps the unique key NULL-free.
    service_point_key: Mapped[int] = mapped_column(Integer, default=0)
    metric: Mapped[str] = mapped_column(String(64))
    value_key: Mapped[str] = mapped_column(String(64))
    count: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())


class MonthlyRollup(Base):
    """The daily rollups summed per month (`month` is "YYYY-MM"): what scoring reads a period of
    months through. Written with the daily rows, by the same upserts (core.rollups), so it always
    equals the daily rows summed by month."""

    __tablename__ = "monthly_rollup"
    __table_args__ = (
        UniqueConstraint(
            "month",
            "service_id",
            "service_point_key",
            "metric",
            "value_key",
            name="uq_monthly_rollup_key",
        ),
        # a period's sums: a few metrics, a range of months
        Index("ix_monthly_rollup_metric_month", "metric", "month"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(String(7))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="CASCADE"), index=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("public_service.id", ondelete="CASCADE"))
    service_point_key: Mapped[int] = mapped_column(Integer, default=0)
    metric: Mapped[str] = mapped_column(String(64))
    value_key: Mapped[str] = mapped_column(String(64))
    count: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())


class RollupRevision(Base):
    """One row: how many times counts of days before yesterday were changed (an analyst's flag
    taking a response out, a bulk load). Completions only add to today's (or, just after
    midnight, yesterday's) counts and never touch it, so readers may remember older days'
    sums under this number (core.rollups.OPEN_DAYS)."""

    __tablename__ = "rollup_revision"

    id: Mapped[int] = mapped_column(primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, default=0)


# Response integrity: office walk-ins, anti-gaming flags, the hash chain ---------------------------


class WalkInPass(Base):
    """How many walk-in surveys one respondent started at one office on one day. `digest` is an
    HMAC of (respondent key, office, day): it survives /stop (which deletes the respondent) and
    says nothing about who it was without the server secret."""

    __tablename__ = "walk_in_pass"

    id: Mapped[int] = mapped_column(primary_key=True)
    digest: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    day: Mapped[str] = mapped_column(String(10), index=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


class ResponseSignal(Base):
    """What the anti-gaming rules count over a window, one row per response: the keyed hash of
    the network address it came from (web channel; never the address itself), its office and
    whether it gave the top score."""

    __tablename__ = "response_signal"
    __table_args__ = (
        Index("ix_response_signal_address_digest", "address_digest", "completed_at"),
        Index("ix_response_signal_service_point_key", "service_point_key", "completed_at"),
    )

    response_id: Mapped[int] = mapped_column(
        ForeignKey("response.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    address_digest: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    service_point_key: Mapped[int] = mapped_column(Integer, default=0)
    top_score: Mapped[bool] = mapped_column(Boolean, default=False)
    completed_at: Mapped[datetime | None]
    # The (metric, value) pairs the response added to the rollups, so that a flag raised later
    # takes out exactly what was put in.
    counted: Mapped[Any] = mapped_column(JSON, nullable=True)


class ResponseFlag(Base):
    """Why a response is kept but not counted (a burst, implausibly fast answers, an analyst)."""

    __tablename__ = "response_flag"
    __table_args__ = (UniqueConstraint("response_id", "reason"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("response.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class LedgerEntry(Base):
    """One completed response in the hash chain (docs/ledger.md). `response_id` has no foreign
    key on purpose: the chain must outlive, and report, a response deleted behind its back."""

    __tablename__ = "ledger_entry"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    response_id: Mapped[int] = mapped_column(Integer, unique=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class LedgerRechain(Base):
    """A recorded re-chaining of the ledger (docs/ledger.md): the stored responses were changed
    on purpose (free-text answers scrubbed of personal data) and the chain recomputed. Keeps
    the old content hash of every entry whose content changed and the old head, so that the old
    chain can be recomputed from this record and checked against an export made before."""

    __tablename__ = "ledger_rechain"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(String(300))
    head_seq: Mapped[int] = mapped_column(Integer)
    old_head_hash: Mapped[str] = mapped_column(String(64))
    new_head_hash: Mapped[str] = mapped_column(String(64))
    # [[seq, old content hash, new content hash], ...] of the entries whose content changed
    changes: Mapped[list[Any]] = mapped_column(JSON)


class LedgerPending(Base):
    """A completed response waiting to be counted and chained: completion queues it (no lock,
    no counter touched), and the chain keeper counts the queue into the rollups and the funnel
    and appends it to the ledger, in batches (docs/ledger.md). No foreign key, as for the
    entries: a response deleted while it waits is reported, not silently dropped."""

    __tablename__ = "ledger_pending"

    response_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    completed_at: Mapped[datetime]
    # The (metric, value) pairs the response counts, decided from its survey at completion;
    # NULL: queued before the keeper counted (counted at completion then), only to be chained.
    counts: Mapped[Any] = mapped_column(JSON, nullable=True)


# The admin side: people who read the aggregates, their sessions, and what they did ---------


class AdminRole(enum.StrEnum):
    ADMIN = "admin"  # everything, users included
    ANALYST = "analyst"  # reads everything
    AGENCY = "agency"  # reads its own agency only


class AdminUser(Base):
    """A person who signs in to the admin web. `email` is stored case-folded, so the unique
    constraint makes e-mails unique case-insensitively."""

    __tablename__ = "admin_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[AdminRole] = mapped_column(_enum(AdminRole, "admin_role"))
    agency_id: Mapped[int | None] = mapped_column(
        ForeignKey("agency.id", ondelete="RESTRICT"), index=True
    )
    language: Mapped[str] = mapped_column(String(2), default="ru")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    password_changed_at: Mapped[datetime]
    disabled_at: Mapped[datetime | None]

    agency: Mapped[Agency | None] = relationship()


class AdminSession(Base):
    """A signed-in browser. The cookie carries a random token; only its SHA-256 is stored, so a
    copy of this table opens no session."""

    __tablename__ = "admin_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("admin_user.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime]  # the absolute limit; the idle limit follows last_seen_at

    user: Mapped[AdminUser] = relationship()


class AuditEvent(Base):
    """Who did what and when: sign-ins (also failed ones), exports, imports, user changes."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_at", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime]
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("admin_user.id", ondelete="SET NULL"), index=True
    )
    # The e-mail as typed or as it was: kept when the user row is gone, and for failed sign-ins.
    actor: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(32))
    client: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[Any] = mapped_column(JSON().with_variant(JSONB(), "postgresql"), default=dict)


class IndicatorValue(Base):
    """An official indicator imported from a file (`qanagat import indicators`), one per agency,
    period and input; a re-import replaces the value. `agency_kind` is kept for agencies the
    database does not know (the file's `kind` column)."""

    __tablename__ = "indicator_value"
    __table_args__ = (UniqueConstraint("agency_code", "period", "input"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_code: Mapped[str] = mapped_column(String(64))
    period: Mapped[str] = mapped_column(String(16))
    input: Mapped[str] = mapped_column(String(64))
    value: Mapped[float] = mapped_column(Float(53))
    agency_kind: Mapped[AgencyKind | None] = mapped_column(_enum(AgencyKind, "indicator_kind"))
    source_file: Mapped[str] = mapped_column(String(300))
    imported_at: Mapped[datetime]


class ScoreRun(Base):
    """One scoring of one period under one methodology, with what it takes to recompute it."""

    __tablename__ = "score_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    methodology: Mapped[str] = mapped_column(String(64))
    methodology_version: Mapped[str] = mapped_column(String(32))
    methodology_hash: Mapped[str] = mapped_column(String(64))
    inputs_hash: Mapped[str] = mapped_column(String(64))
    agencies_hash: Mapped[str] = mapped_column(String(64))
    min_sample: Mapped[int] = mapped_column(Integer)
    period: Mapped[str] = mapped_column(String(16))
    code_version: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    # Set when an administrator publishes the run on the public results pages and in the open
    # data; at most one published run per methodology and period (publishing supersedes).
    published_at: Mapped[datetime | None]
    published_by: Mapped[str | None] = mapped_column(String(128))

    values: Mapped[list[ScoreValue]] = relationship(
        back_populates="run", cascade="all, delete-orphan", order_by="ScoreValue.id"
    )


class ScoreValue(Base):
    """One node of one agency in a score run (`status` says why `value` may be empty)."""

    __tablename__ = "score_value"
    __table_args__ = (UniqueConstraint("run_id", "agency", "period", "node"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("score_run.id", ondelete="CASCADE"))
    agency: Mapped[str] = mapped_column(String(64))
    period: Mapped[str] = mapped_column(String(16))
    node: Mapped[str] = mapped_column(String(64))
    value: Mapped[float | None] = mapped_column(Float(53))
    grade: Mapped[str | None] = mapped_column(String(32))
    n: Mapped[int | None] = mapped_column(Integer)
    ci_low: Mapped[float | None] = mapped_column(Float(53))
    ci_high: Mapped[float | None] = mapped_column(Float(53))
    status: Mapped[str] = mapped_column(String(32))
    missing_inputs: Mapped[str | None] = mapped_column(String(1000))
    # why (scoring.compute.REASON_CODES); None on rows of runs stored before reasons existed
    reason: Mapped[str | None] = mapped_column(String(1000))

    run: Mapped[ScoreRun] = relationship(back_populates="values")


class ScoreRunInput(Base):
    """One input a run was computed from (an agency's value of a named input), kept with the
    run so its figures can be explained and its ranks' sensitivity drawn from what it read."""

    __tablename__ = "score_run_input"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("score_run.id", ondelete="CASCADE"), index=True)
    agency: Mapped[str] = mapped_column(String(64))
    input: Mapped[str] = mapped_column(String(64))
    value: Mapped[float | None] = mapped_column(Float(53))


class ScoreRunAgency(Base):
    """An agency a run scored, with the kind it was scored as (kinds pick the weights)."""

    __tablename__ = "score_run_agency"
    __table_args__ = (UniqueConstraint("run_id", "agency"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("score_run.id", ondelete="CASCADE"))
    agency: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))


class ScoreRankRange(Base):
    """How far an agency's rank in a run moves when the methodology's assumptions move within
    their ranges (scoring.sensitivity over the run's own inputs), kept with the run."""

    __tablename__ = "score_rank_range"
    __table_args__ = (UniqueConstraint("run_id", "agency"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("score_run.id", ondelete="CASCADE"))
    agency: Mapped[str] = mapped_column(String(64))
    rank_p05: Mapped[int | None] = mapped_column(Integer)
    rank_p95: Mapped[int | None] = mapped_column(Integer)
    value_p05: Mapped[float | None] = mapped_column(Float(53))
    value_p95: Mapped[float | None] = mapped_column(Float(53))
    grades: Mapped[Any] = mapped_column(JSON, default=dict)  # grade -> probability
    driver: Mapped[str | None] = mapped_column(String(128))
    driver_effect: Mapped[float | None] = mapped_column(Float(53))
    draws: Mapped[int] = mapped_column(Integer)
    seed: Mapped[int] = mapped_column(Integer)
    computed_at: Mapped[datetime]


class ApiKey(Base):
    """A key of one integration (a queue system, eGov). Only its SHA-256 is stored; a key is
    192 random bits, so a plain hash is enough. `agency_codes` None means every agency."""

    __tablename__ = "api_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    key_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    agency_codes: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    # Encrypted with a key derived from the server secret; set means requests must be signed.
    sealed_signing_secret: Mapped[bytes | None] = mapped_column(LargeBinary(256))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]

    def allows(self, agency_code: str) -> bool:
        return self.agency_codes is None or agency_code in self.agency_codes


class ChatLink(Base):
    """A short code a citizen got from the bot (/link) and gives to a service centre once, so
    later invitations reach them in Telegram. Only an HMAC of the code is stored."""

    __tablename__ = "chat_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    respondent_id: Mapped[int] = mapped_column(
        ForeignKey("respondent.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    revoked_at: Mapped[datetime | None]


class FunnelDaily(Base):
    """The invitation funnel per agency x service x office x day of the service (Kazakhstan
    time): served -> invited -> delivered -> started -> completed."""

    __tablename__ = "funnel_daily"
    __table_args__ = (
        UniqueConstraint("day", "service_id", "service_point_key", name="uq_funnel_daily_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[str] = mapped_column(String(10))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="CASCADE"), index=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("public_service.id", ondelete="CASCADE"))
    # 0 when the event has no office (eGov, proactive): keeps the unique key NULL-free.
    service_point_key: Mapped[int] = mapped_column(Integer, default=0)
    served: Mapped[int] = mapped_column(Integer, default=0)
    invited: Mapped[int] = mapped_column(Integer, default=0)
    delivered: Mapped[int] = mapped_column(Integer, default=0)
    started: Mapped[int] = mapped_column(Integer, default=0)
    completed: Mapped[int] = mapped_column(Integer, default=0)
    # Started, not completed when the invitation expired (an outcome, not a step of the way).
    abandoned: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())


class DeliveryStatus(enum.StrEnum):
    """Where one invitation message stands in the outbox."""

    PENDING = "pending"  # due at next_attempt_at
    SENDING = "sending"  # claimed by a dispatcher until lease_expires_at
    SENT = "sent"
    FAILED = "failed"  # given up: attempts used up, invitation expired, no address left
    BLOCKED = "blocked"  # the citizen blocked the bot


class InvitationDelivery(Base):
    """The outbox: one Telegram message to send per invitation, written in the transaction that
    issues the invitation. The clear token rides here encrypted, only until it is sent or given
    up; the database refuses a second message for one invitation."""

    __tablename__ = "invitation_delivery"
    __table_args__ = (Index("ix_invitation_delivery_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    invitation_id: Mapped[int] = mapped_column(
        ForeignKey("invitation.id", ondelete="CASCADE"), unique=True
    )
    # /stop deletes the respondent, and with it any message still waiting for them.
    respondent_id: Mapped[int] = mapped_column(
        ForeignKey("respondent.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[DeliveryStatus] = mapped_column(
        _enum(DeliveryStatus, "delivery_status"), default=DeliveryStatus.PENDING
    )
    encrypted_token: Mapped[bytes | None] = mapped_column(LargeBinary(256))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    lease_expires_at: Mapped[datetime | None]
    claim: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    sent_at: Mapped[datetime | None]
    telegram_message_id: Mapped[int | None] = mapped_column(BigInteger)


class IndicatorUpload(Base):
    """An indicators file uploaded in the admin: checked first (its problems shown, nothing
    stored), then stored on confirmation from this copy, never from what the browser sends back.
    The content is dropped once stored or refused; the row stays as the list of past imports."""

    __tablename__ = "indicator_upload"
    __table_args__ = (Index("ix_indicator_upload_created_at", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("admin_user.id", ondelete="SET NULL"), index=True
    )
    actor: Mapped[str] = mapped_column(String(254))
    filename: Mapped[str] = mapped_column(String(300))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes | None] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16))  # checked | refused | stored
    rows: Mapped[int] = mapped_column(Integer, default=0)
    problems: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    stored_at: Mapped[datetime | None]


class Appeal(Base):
    """A complaint or appeal from the appeals-register export (`qanagat import appeals`), one
    per external id: a re-import updates it. Feeds the complaints direction's inputs."""

    __tablename__ = "appeal"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), unique=True)
    agency_code: Mapped[str] = mapped_column(String(64), index=True)
    received_on: Mapped[date] = mapped_column(Date)
    answered_on: Mapped[date | None] = mapped_column(Date, index=True)
    deadline: Mapped[date] = mapped_column(Date)
    outcome: Mapped[str] = mapped_column(String(32))
    court_upheld: Mapped[bool] = mapped_column(Boolean)
    repeat: Mapped[bool] = mapped_column(Boolean)
    service_code: Mapped[str | None] = mapped_column(String(64))
    channel: Mapped[str | None] = mapped_column(String(64))
    source_file: Mapped[str] = mapped_column(String(300))
    imported_at: Mapped[datetime]


# Complaints: filed by a citizen about a service they received, answered by its agency ---------


class ComplaintCategory(enum.StrEnum):
    WAITING_TIME = "waiting_time"
    DEADLINE_MISSED = "deadline_missed"
    UNJUSTIFIED_REFUSAL = "unjustified_refusal"
    EXTRA_DOCUMENTS = "extra_documents"
    RUDENESS = "rudeness"
    UNCLEAR_INFORMATION = "unclear_information"
    CORRUPTION = "corruption"
    OTHER = "other"


class ComplaintStatus(enum.StrEnum):
    DRAFT = "draft"  # being filed: the citizen has not sent it yet; the agency never sees it
    RECEIVED = "received"
    IN_REVIEW = "in_review"
    ANSWERED = "answered"
    CLOSED = "closed"


class DatasetProblem(enum.StrEnum):
    """What a data set's user reports as wrong with it."""

    MISSING_FIELDS = "missing_fields"
    OUTDATED = "outdated"
    BROKEN_LINK = "broken_link"
    WRONG_VALUES = "wrong_values"
    OTHER = "other"


class Complaint(Base):
    """One complaint about one service, or one problem report about one open data set (exactly
    one of `service_id` / `dataset_id` is set; the database refuses both or neither). The
    agency-visible text is scrubbed of personal data before it is stored (the citizen's raw text
    is never kept). `respondent_id` is the citizen side's link, for writing back: admin queries
    never select it."""

    __tablename__ = "complaint"
    __table_args__ = (
        Index("ix_complaint_agency_status", "agency_id", "status"),
        CheckConstraint(
            "(service_id IS NOT NULL AND dataset_id IS NULL)"
            " OR (service_id IS NULL AND dataset_id IS NOT NULL)",
            name="one_subject",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # "Q-" and 8 base32 characters of 40 random bits: short to dictate, not guessable.
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    respondent_id: Mapped[int | None] = mapped_column(
        ForeignKey("respondent.id", ondelete="SET NULL"), index=True
    )
    # One complaint per rated service: a second one resumes or is refused.
    response_id: Mapped[int | None] = mapped_column(
        ForeignKey("response.id", ondelete="SET NULL"), unique=True
    )
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="RESTRICT"))
    # None for a data set's problem report (then `dataset_id` is set).
    service_id: Mapped[int | None] = mapped_column(
        ForeignKey("public_service.id", ondelete="RESTRICT"), index=True
    )
    service_point_id: Mapped[int | None] = mapped_column(
        ForeignKey("service_point.id", ondelete="RESTRICT"), index=True
    )
    dataset_id: Mapped[int | None] = mapped_column(
        ForeignKey("dataset.id", ondelete="RESTRICT"), index=True
    )
    # One problem report per rating of a data set, as one complaint per rated service.
    dataset_rating_id: Mapped[int | None] = mapped_column(
        ForeignKey("dataset_rating.id", ondelete="SET NULL"), unique=True
    )
    problem: Mapped[DatasetProblem | None] = mapped_column(_enum(DatasetProblem, "dataset_problem"))
    category: Mapped[ComplaintCategory | None] = mapped_column(
        _enum(ComplaintCategory, "complaint_category")
    )
    text: Mapped[str | None] = mapped_column(String(2000))
    language: Mapped[str] = mapped_column(String(2))
    consent_to_answer: Mapped[bool | None] = mapped_column(Boolean)
    status: Mapped[ComplaintStatus] = mapped_column(
        _enum(ComplaintStatus, "complaint_status"), default=ComplaintStatus.DRAFT
    )
    deadline: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    received_at: Mapped[datetime | None]
    in_review_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    answer_text: Mapped[str | None] = mapped_column(String(4000))
    answer_rating: Mapped[int | None] = mapped_column(Integer)
    # Set by the worker: the reminder before the deadline went out / the deadline passed unanswered.
    reminded_at: Mapped[datetime | None]
    overdue_at: Mapped[datetime | None]

    service: Mapped[PublicService | None] = relationship()
    service_point: Mapped[ServicePoint | None] = relationship()
    dataset: Mapped[Dataset | None] = relationship()


class ComplaintStatusChange(Base):
    """The history of a complaint: every status it entered, when, and who moved it (an admin
    user's e-mail, "citizen" or "system"; never the citizen's identity)."""

    __tablename__ = "complaint_status_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(
        ForeignKey("complaint.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[ComplaintStatus] = mapped_column(_enum(ComplaintStatus, "complaint_history"))
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(254))

    complaint: Mapped[Complaint] = relationship()


class ComplaintNotice(Base):
    """A message owed to the citizen about their complaint (its new status), sent by the worker
    through the bot; kept apart from the complaint so the agency side never touches it. Only
    for complaints whose citizen consented to be answered."""

    __tablename__ = "complaint_notice"
    __table_args__ = (Index("ix_complaint_notice_sent_at", "sent_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(
        ForeignKey("complaint.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[ComplaintStatus] = mapped_column(_enum(ComplaintStatus, "complaint_notice"))
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # why it was given up (no address any more, blocked by the citizen)
    dropped: Mapped[str | None] = mapped_column(String(32))

    complaint: Mapped[Complaint] = relationship()


# Staff chats: an agency's Telegram chats that receive its complaint summaries and deadline alerts


class StaffChatCode(Base):
    """A one-time code an admin user generates for an agency; sent as `/subscribe CODE` in a
    Telegram chat, it subscribes that chat. Only an HMAC of the code is stored; `used_at` makes
    it single-use, `expires_at` short-lived. `weekly`/`monthly` say which summaries the chat
    subscribed with it will get."""

    __tablename__ = "staff_chat_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="CASCADE"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("admin_user.id", ondelete="SET NULL"), index=True
    )
    language: Mapped[str] = mapped_column(String(2))
    weekly: Mapped[bool] = mapped_column(Boolean, default=True)
    monthly: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class StaffChat(Base):
    """A Telegram chat (a group or a staff member's private chat) subscribed to its agency's
    summaries and alerts. The chat id is kept encrypted; `chat_key` (an HMAC of it) makes a chat
    subscribable once per agency without the id being readable."""

    __tablename__ = "staff_chat"
    __table_args__ = (UniqueConstraint("agency_id", "chat_key", name="uq_staff_chat_agency_chat"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="CASCADE"), index=True)
    chat_key: Mapped[str] = mapped_column(String(64), index=True)
    encrypted_chat_id: Mapped[bytes] = mapped_column(LargeBinary(256))
    title: Mapped[str | None] = mapped_column(String(255))
    language: Mapped[str] = mapped_column(String(2))
    weekly: Mapped[bool] = mapped_column(Boolean, default=True)
    monthly: Mapped[bool] = mapped_column(Boolean, default=False)
    subscribed_at: Mapped[datetime]
    code_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_chat_code.id", ondelete="SET NULL")
    )


class StaffMessageStatus(enum.StrEnum):
    """Where one message to a staff chat stands."""

    PENDING = "pending"  # due at next_attempt_at
    SENDING = "sending"  # claimed until lease_expires_at (a crashed sender's rows come back)
    SENT = "sent"
    FAILED = "failed"  # given up after the attempts, or refused by Telegram as malformed


class SummaryDelivery(Base):
    """One agency summary for one closed period, owed to one staff chat. The text is rendered
    when the row is written, so a retry sends what the first attempt would have; the unique key
    makes a restart or a second worker find the row instead of sending again."""

    __tablename__ = "summary_delivery"
    __table_args__ = (
        UniqueConstraint(
            "agency_id",
            "period_kind",
            "period_start",
            "staff_chat_id",
            name="uq_summary_delivery_key",
        ),
        Index("ix_summary_delivery_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="CASCADE"))
    period_kind: Mapped[str] = mapped_column(String(16))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    staff_chat_id: Mapped[int] = mapped_column(
        ForeignKey("staff_chat.id", ondelete="CASCADE"), index=True
    )
    text: Mapped[str] = mapped_column(String(4096))
    status: Mapped[StaffMessageStatus] = mapped_column(
        _enum(StaffMessageStatus, "summary_delivery_status"), default=StaffMessageStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    lease_expires_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class StaffAlert(Base):
    """A deadline reminder or overdue flag of one complaint, owed to one staff chat of its
    agency: once per complaint, kind and chat. The text names the reference, the service and the
    deadline, never the citizen."""

    __tablename__ = "staff_alert"
    __table_args__ = (
        UniqueConstraint("complaint_id", "kind", "staff_chat_id", name="uq_staff_alert_key"),
        Index("ix_staff_alert_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaint.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # reminder | overdue
    staff_chat_id: Mapped[int] = mapped_column(
        ForeignKey("staff_chat.id", ondelete="CASCADE"), index=True
    )
    text: Mapped[str] = mapped_column(String(4096))
    status: Mapped[StaffMessageStatus] = mapped_column(
        _enum(StaffMessageStatus, "staff_alert_status"), default=StaffMessageStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    lease_expires_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


# Open data: the registry of agencies' published data sets and their users' ratings -----------


class UpdateFrequency(enum.StrEnum):
    """How often a data set's publisher promises to refresh it (the portal's catalogue)."""

    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    YEARLY = "yearly"
    IRREGULAR = "irregular"


class DatasetState(enum.StrEnum):
    PLANNED = "planned"  # in the agency's publication plan, not out yet
    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"  # gone from the catalogue; kept so its ratings keep their subject


class Dataset(Base):
    """One open data set of one agency, from the open-data portal's catalogue
    (`qanagat import datasets`), one per external id: a re-import updates it."""

    __tablename__ = "dataset"
    __table_args__ = (
        # an agency's registry in the admin, and finding a set by agency then title in the bot
        Index("ix_dataset_agency_title", "agency_id", "title_ru"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="RESTRICT"))
    external_id: Mapped[str] = mapped_column(String(128), unique=True)
    title_kk: Mapped[str] = mapped_column(String(500))
    title_ru: Mapped[str] = mapped_column(String(500))
    title_en: Mapped[str | None] = mapped_column(String(500))
    url: Mapped[str] = mapped_column(String(1000))
    update_frequency: Mapped[UpdateFrequency] = mapped_column(
        _enum(UpdateFrequency, "update_frequency")
    )
    last_updated: Mapped[date | None] = mapped_column(Date)
    state: Mapped[DatasetState] = mapped_column(_enum(DatasetState, "dataset_state"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    agency: Mapped[Agency] = relationship()

    def title(self, lang: str) -> str:
        return str(getattr(self, f"title_{lang}", None) or self.title_ru)


class RatingStatus(enum.StrEnum):
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"


class DatasetRating(Base):
    """One person's rating of one data set on one Asia/Almaty calendar day: rating it again the
    same day replaces the first (the database keeps one row), so it is counted once. The metric
    columns are filled from `answers` at completion; scoring reads only completed rows."""

    __tablename__ = "dataset_rating"
    __table_args__ = (
        UniqueConstraint("dataset_id", "respondent_id", "day", name="uq_dataset_rating_key"),
        # scoring and the admin tables: completed ratings of a period
        Index("ix_dataset_rating_status_day", "status", "day"),
        CheckConstraint("overall IS NULL OR (overall >= 1 AND overall <= 5)", name="overall"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("dataset.id", ondelete="RESTRICT"))
    respondent_id: Mapped[int | None] = mapped_column(
        ForeignKey("respondent.id", ondelete="SET NULL"), index=True
    )
    day: Mapped[date] = mapped_column(Date)
    channel: Mapped[Channel] = mapped_column(_enum(Channel, "dataset_rating_channel"))
    language: Mapped[str] = mapped_column(String(2))
    survey_id: Mapped[str] = mapped_column(String(64))
    survey_version: Mapped[str] = mapped_column(String(32))
    status: Mapped[RatingStatus] = mapped_column(
        _enum(RatingStatus, "dataset_rating_status"), default=RatingStatus.IN_PROGRESS
    )
    # question name -> value, as the survey engine stores them (null: an optional one skipped)
    answers: Mapped[dict[str, Any]] = mapped_column(
        JSON().with_variant(JSONB(), "postgresql"), default=dict
    )
    found: Mapped[bool | None] = mapped_column(Boolean)
    complete: Mapped[bool | None] = mapped_column(Boolean)
    current: Mapped[bool | None] = mapped_column(Boolean)
    verifiable: Mapped[bool | None] = mapped_column(Boolean)
    overall: Mapped[int | None] = mapped_column(Integer)
    started_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
    # Anti-gaming, as for service responses: why a completed rating is kept but not counted
    # (core/integrity/dataset_flags.py), and a keyed hash of the web visitor's network (never
    # the address; blanked after the retention period).
    flag: Mapped[str | None] = mapped_column(String(32))
    address_digest: Mapped[bytes | None] = mapped_column(LargeBinary(32))

    dataset: Mapped[Dataset] = relationship()


# "You said, we changed": what an agency changed after complaints and ratings ------------------


class NoteStatus(enum.StrEnum):
    PENDING = "pending"  # written, waiting for an administrator
    APPROVED = "approved"  # shown on the public results pages
    REJECTED = "rejected"


class ChangeNote(Base):
    """A short note an agency's staff write about what they changed; public only once an
    administrator approved it. At least one language's text is set."""

    __tablename__ = "change_note"
    __table_args__ = (Index("ix_change_note_agency_status", "agency_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="CASCADE"))
    service_point_id: Mapped[int | None] = mapped_column(
        ForeignKey("service_point.id", ondelete="CASCADE"), index=True
    )
    text_kk: Mapped[str | None] = mapped_column(String(1000))
    text_ru: Mapped[str | None] = mapped_column(String(1000))
    text_en: Mapped[str | None] = mapped_column(String(1000))
    status: Mapped[NoteStatus] = mapped_column(
        _enum(NoteStatus, "change_note_status"), default=NoteStatus.PENDING
    )
    written_at: Mapped[datetime]
    written_by: Mapped[str] = mapped_column(String(254))
    reviewed_at: Mapped[datetime | None]
    reviewed_by: Mapped[str | None] = mapped_column(String(254))

    agency: Mapped[Agency] = relationship()
    office: Mapped[ServicePoint | None] = relationship()

    def text(self, lang: str) -> str | None:
        return getattr(self, f"text_{lang}", None) or None
