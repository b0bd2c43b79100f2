"""The case tables as SQLAlchemy models (migration 0007 mirrors them exactly)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from geo.cases import vocab as cv
from geo.model_base import Base
from geo.vocab import INCIDENT_CATEGORIES, check_sql

TS = DateTime(timezone=True)


class Case(Base):
    """An incident with a life: its current state, holding unit, deadline and version (derived from its events)."""

    __tablename__ = "cases"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), unique=True)
    reporter: Mapped[str] = mapped_column(Text)
    idempotency_key: Mapped[str | None] = mapped_column(Text(collation="C"))
    channel: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(16))
    priority: Mapped[str] = mapped_column(String(8), server_default="normal")
    state: Mapped[str] = mapped_column(String(24))
    unit_kind: Mapped[str] = mapped_column(String(12))
    unit_code: Mapped[str] = mapped_column(String(15), index=True)
    unit_department: Mapped[str | None] = mapped_column(String(32))
    dispatch_code: Mapped[str | None] = mapped_column(String(15))
    handler_kind: Mapped[str | None] = mapped_column(String(12))
    handler_code: Mapped[str | None] = mapped_column(String(15))
    handler_department: Mapped[str | None] = mapped_column(String(32))
    grid_code: Mapped[str | None] = mapped_column(String(15))
    community_code: Mapped[str | None] = mapped_column(String(12))
    town_code: Mapped[str | None] = mapped_column(String(9))
    county_code: Mapped[str | None] = mapped_column(String(6))
    reported_at: Mapped[dt.datetime] = mapped_column(TS)
    step_started_at: Mapped[dt.datetime] = mapped_column(TS)
    deadline_at: Mapped[dt.datetime | None] = mapped_column(TS)
    parked_until: Mapped[dt.date | None] = mapped_column(Date)
    rework_count: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    late_steps: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    closed_at: Mapped[dt.datetime | None] = mapped_column(TS)
    closed_level: Mapped[str | None] = mapped_column(String(12))
    version: Mapped[int] = mapped_column(Integer, server_default="1")
    updated_at: Mapped[dt.datetime] = mapped_column(TS, server_default=func.now())
    # The deadline whose supervision was last recorded (migration 0010): the sweep's index of what is due.
    supervised_due: Mapped[dt.datetime | None] = mapped_column(TS)
    __table_args__ = (
        CheckConstraint(check_sql("state", cv.STATES), name="ck_cases_state"),
        CheckConstraint(check_sql("channel", cv.CHANNELS), name="ck_cases_channel"),
        CheckConstraint(check_sql("priority", cv.PRIORITIES), name="ck_cases_priority"),
        CheckConstraint(check_sql("unit_kind", cv.UNIT_KINDS), name="ck_cases_unit_kind"),
        CheckConstraint(check_sql("category", INCIDENT_CATEGORIES), name="ck_cases_category"),
        UniqueConstraint("reporter", "idempotency_key", name="uq_cases_reporter_key"),
        Index("ix_cases_county_reported", "county_code", "reported_at"),
        Index(
            "ix_cases_open_deadline", "deadline_at", postgresql_where=text("state NOT IN ('declined', 'closed')")
        ),
        Index(
            "ix_cases_unsupervised",
            "deadline_at",
            postgresql_where=text(
                "state NOT IN ('declined', 'closed') AND supervised_due IS DISTINCT FROM deadline_at"
            ),
        ),
    )


class CaseEvent(Base):
    """One step of a case, kept for ever (the app role may only INSERT and SELECT)."""

    __tablename__ = "case_events"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    step: Mapped[str] = mapped_column(String(24))
    at: Mapped[dt.datetime] = mapped_column(TS)
    actor: Mapped[str] = mapped_column(Text)
    from_unit_kind: Mapped[str | None] = mapped_column(String(12))
    from_unit_code: Mapped[str | None] = mapped_column(String(15))
    from_unit_department: Mapped[str | None] = mapped_column(String(32))
    to_unit_kind: Mapped[str | None] = mapped_column(String(12))
    to_unit_code: Mapped[str | None] = mapped_column(String(15))
    to_unit_department: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    days: Mapped[int | None] = mapped_column(SmallInteger)
    review_on: Mapped[dt.date | None] = mapped_column(Date)
    deadline_at: Mapped[dt.datetime | None] = mapped_column(TS)
    due_key: Mapped[dt.datetime | None] = mapped_column(TS)
    elapsed_s: Mapped[int | None] = mapped_column(Integer)
    late: Mapped[bool] = mapped_column(Boolean, server_default="false")
    # The case's local report day and county, filled by a row trigger (migration 0009): the measures' cohort.
    reported_on: Mapped[dt.date | None] = mapped_column(Date)
    county_code: Mapped[str | None] = mapped_column(String(6))
    geom: Mapped[Any] = mapped_column(
        Geometry(geometry_type="POINT", srid=4326, spatial_index=False), nullable=True
    )
    __table_args__ = (
        Index("ix_case_events_case", "case_id", "id"),
        Index("ix_case_events_at", "at"),
        Index("idx_case_events_geom", "geom", postgresql_using="gist"),
        Index(
            "ix_case_events_step_elapsed",
            "step",
            "elapsed_s",
            postgresql_include=["reported_on", "county_code"],
            postgresql_where=text("elapsed_s IS NOT NULL"),
        ),
        Index(
            "uq_case_events_due",
            "case_id",
            "step",
            "due_key",
            unique=True,
            postgresql_where=text("due_key IS NOT NULL"),
        ),
    )


class CaseTimeLimit(Base):
    """Working days allowed per category ('*': any), priority and step; admins edit it."""

    __tablename__ = "case_time_limits"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    category: Mapped[str] = mapped_column(String(16))
    priority: Mapped[str] = mapped_column(String(8))
    step: Mapped[str] = mapped_column(String(16))
    working_days: Mapped[int] = mapped_column(SmallInteger)
    max_working_days: Mapped[int | None] = mapped_column(SmallInteger)
    updated_by: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(TS, server_default=func.now())
    __table_args__ = (
        CheckConstraint("working_days >= 0 AND working_days <= 60", name="ck_case_time_limits_days"),
        UniqueConstraint("category", "priority", "step", name="uq_case_time_limits"),
    )


class CasePhoto(Base):
    """A JPEG or PNG attached to a case, stored in the database (so backups hold it)."""

    __tablename__ = "case_photos"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    content_type: Mapped[str] = mapped_column(String(16))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by: Mapped[str] = mapped_column(Text)
    uploaded_at: Mapped[dt.datetime] = mapped_column(TS, server_default=func.now())


class CaseDailyCount(Base):
    """Cases per local report day and area (each county, and the city), by the keys the measures count on.

    Kept by statement triggers on cases (migration 0009); closed_level '' is not closed.
    """

    __tablename__ = "case_daily_counts"
    area_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    category: Mapped[str] = mapped_column(String(16), primary_key=True)
    state: Mapped[str] = mapped_column(String(24), primary_key=True)
    closed_level: Mapped[str] = mapped_column(String(12), primary_key=True)
    late: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    reworked: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    handled: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    n: Mapped[int] = mapped_column(Integer)


class CaseStepCount(Base):
    """Step times (elapsed_s) per case report day, area and step, counted by value bucket (case_bucket())."""

    __tablename__ = "case_step_counts"
    area_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    step: Mapped[str] = mapped_column(String(24), primary_key=True)
    bucket: Mapped[int] = mapped_column(Integer, primary_key=True)
    n: Mapped[int] = mapped_column(Integer)
