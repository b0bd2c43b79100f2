"""The whole citygrid schema as SQLAlchemy/GeoAlchemy2 models; Alembic migrations mirror it exactly."""

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
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from geo import vocab
from geo.model_base import Base  # re-exported: migrations and tests read geo.models.Base

SRID = 4326


def _geom(kind: str) -> Any:
    return Geometry(geometry_type=kind, srid=SRID, spatial_index=True)


def _now() -> Any:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class AdminUnit(Base):
    """City, county/district, town/street and village/community polygons (the governance tree)."""

    __tablename__ = "admin_units"
    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    name_en: Mapped[str | None] = mapped_column(Text)
    level: Mapped[str] = mapped_column(String(16))
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("admin_units.code"), index=True)
    urban: Mapped[bool] = mapped_column(Boolean, server_default="false")
    households: Mapped[int | None] = mapped_column(Integer)
    population: Mapped[int | None] = mapped_column(Integer)
    synthetic: Mapped[bool] = mapped_column(Boolean, server_default="false")
    geom: Mapped[Any] = mapped_column(_geom("MULTIPOLYGON"), nullable=False)
    __table_args__ = (
        CheckConstraint(vocab.check_sql("level", vocab.ADMIN_LEVELS), name="ck_admin_units_level"),
        Index("ix_admin_units_level", "level"),
    )


class Grid(Base):
    """The current integrated (全要素) grid; every earlier and the current version are in grid_versions."""

    __tablename__ = "grids"
    code: Mapped[str] = mapped_column(String(15), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    community_code: Mapped[str] = mapped_column(ForeignKey("admin_units.code"), index=True)
    grid_worker: Mapped[str | None] = mapped_column(Text)
    grid_worker_phone: Mapped[str | None] = mapped_column(Text)
    households: Mapped[int | None] = mapped_column(Integer)
    population: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), server_default="active")
    version: Mapped[int] = mapped_column(Integer, server_default="1")
    synthetic: Mapped[bool] = mapped_column(Boolean, server_default="false")
    geom: Mapped[Any] = mapped_column(_geom("MULTIPOLYGON"), nullable=False)
    created_at: Mapped[dt.datetime] = _now()
    updated_at: Mapped[dt.datetime] = _now()
    __table_args__ = (CheckConstraint("status IN ('active', 'retired')", name="ck_grids_status"),)


class GridVersion(Base):
    """Every version of every grid, the current one with valid_to NULL (for as_of and historic stats)."""

    __tablename__ = "grid_versions"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    grid_code: Mapped[str] = mapped_column(String(15), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(Text)
    community_code: Mapped[str] = mapped_column(String(12))
    grid_worker: Mapped[str | None] = mapped_column(Text)
    households: Mapped[int | None] = mapped_column(Integer)
    population: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    geom: Mapped[Any] = mapped_column(_geom("MULTIPOLYGON"), nullable=False)
    valid_from: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    valid_to: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    editor: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (UniqueConstraint("grid_code", "version", name="uq_grid_versions_code_version"),)


class DepartmentGrid(Base):
    """One of the 11 departments' own grid cells, before the merger (for the crosswalk)."""

    __tablename__ = "department_grids"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    department: Mapped[str] = mapped_column(String(32))
    code: Mapped[str] = mapped_column(Text)
    name: Mapped[str | None] = mapped_column(Text)
    synthetic: Mapped[bool] = mapped_column(Boolean, server_default="false")
    geom: Mapped[Any] = mapped_column(_geom("MULTIPOLYGON"), nullable=False)
    __table_args__ = (
        UniqueConstraint("department", "code", name="uq_department_grids_dept_code"),
        CheckConstraint(vocab.check_sql("department", vocab.DEPARTMENTS), name="ck_department_grids_dept"),
    )


class Compound(Base):
    """An old residential compound (老旧小区), with its renovation and micro-governance state."""

    __tablename__ = "compounds"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    external_id: Mapped[str | None] = mapped_column(Text, unique=True)
    name: Mapped[str] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(Text)
    buildings: Mapped[int | None] = mapped_column(Integer)
    households: Mapped[int | None] = mapped_column(Integer)
    built_year: Mapped[int | None] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(16), server_default="other")
    renovation_status: Mapped[str] = mapped_column(String(16), server_default="not_renovated")
    renovated_year: Mapped[int | None] = mapped_column(Integer)
    party_group: Mapped[bool] = mapped_column(Boolean, server_default="false")
    self_management_group: Mapped[bool] = mapped_column(Boolean, server_default="false")
    residents_council: Mapped[bool] = mapped_column(Boolean, server_default="false")
    grid_code: Mapped[str | None] = mapped_column(ForeignKey("grids.code"), index=True)
    community_code: Mapped[str | None] = mapped_column(String(12), index=True)
    # [{"grid_code": ..., "share": 0..1}, ...] largest first, computed in a metric CRS.
    grid_shares: Mapped[list | None] = mapped_column(JSONB)
    synthetic: Mapped[bool] = mapped_column(Boolean, server_default="false")
    geom: Mapped[Any] = mapped_column(_geom("POLYGON"), nullable=False)
    created_at: Mapped[dt.datetime] = _now()
    updated_at: Mapped[dt.datetime] = _now()
    __table_args__ = (
        CheckConstraint(vocab.check_sql("category", vocab.COMPOUND_CATEGORIES), name="ck_compounds_category"),
        CheckConstraint(
            vocab.check_sql("renovation_status", vocab.RENOVATION_STATUSES), name="ck_compounds_renovation"
        ),
    )


class Incident(Base):
    """A reported incident, assigned to grid/community/town/county on write (or flagged outside)."""

    __tablename__ = "incidents"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    external_id: Mapped[str | None] = mapped_column(Text(collation="C"), unique=True)  # opaque: byte order
    category: Mapped[str] = mapped_column(String(16))
    subcategory: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), server_default="reported")
    occurred_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    reported_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    mediated_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    description: Mapped[str | None] = mapped_column(Text)
    source_crs: Mapped[str] = mapped_column(String(16), server_default="EPSG:4326")
    grid_code: Mapped[str | None] = mapped_column(String(15))
    community_code: Mapped[str | None] = mapped_column(String(12))
    town_code: Mapped[str | None] = mapped_column(String(9))
    county_code: Mapped[str | None] = mapped_column(String(6))
    compound_id: Mapped[int | None] = mapped_column(Integer)
    outside_jurisdiction: Mapped[bool] = mapped_column(Boolean, server_default="false")
    synthetic: Mapped[bool] = mapped_column(Boolean, server_default="false")
    geom: Mapped[Any] = mapped_column(_geom("POINT"), nullable=False)
    created_at: Mapped[dt.datetime] = _now()
    updated_at: Mapped[dt.datetime] = _now()
    __table_args__ = (
        CheckConstraint(vocab.check_sql("category", vocab.INCIDENT_CATEGORIES), name="ck_incidents_category"),
        CheckConstraint(vocab.check_sql("status", vocab.INCIDENT_STATUSES), name="ck_incidents_status"),
        # Lean on purpose (migration 0003): each index is paid by every write and by every re-assignment.
        Index("ix_incidents_occurred_at", "occurred_at"),
        {"postgresql_with": {"fillfactor": 85}},
    )


class IncidentDailyCount(Base):
    """Incidents per local day, county and category, kept exact by statement triggers (migration 0002)."""

    __tablename__ = "incident_daily_counts"
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    county_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    category: Mapped[str] = mapped_column(String(16), primary_key=True)
    n: Mapped[int] = mapped_column(Integer)


class Officer(Base):
    """A community police officer (社区民警), deputy secretary of a community."""

    __tablename__ = "officers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    badge: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(Text)
    community_code: Mapped[str | None] = mapped_column(ForeignKey("admin_units.code"), index=True)
    phone: Mapped[str | None] = mapped_column(Text)
    synthetic: Mapped[bool] = mapped_column(Boolean, server_default="false")


class PatrolRoute(Base):
    """A planned patrol: a line, its officer, community, shift, mode and planned stops."""

    __tablename__ = "patrol_routes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    officer_id: Mapped[int] = mapped_column(ForeignKey("officers.id"), index=True)
    community_code: Mapped[str | None] = mapped_column(String(12), index=True)
    shift: Mapped[str] = mapped_column(String(16))
    mode: Mapped[str] = mapped_column(String(8), server_default="walk")
    # [{"name", "lon", "lat", "dwell_minutes", "kind"}, ...] in visiting order.
    planned_stops: Mapped[list | None] = mapped_column(JSONB)
    version: Mapped[int] = mapped_column(Integer, server_default="1")
    synthetic: Mapped[bool] = mapped_column(Boolean, server_default="false")
    geom: Mapped[Any] = mapped_column(_geom("LINESTRING"), nullable=False)
    created_at: Mapped[dt.datetime] = _now()
    updated_at: Mapped[dt.datetime] = _now()
    __table_args__ = (
        CheckConstraint(vocab.check_sql("shift", vocab.SHIFTS), name="ck_patrol_routes_shift"),
        CheckConstraint(vocab.check_sql("mode", vocab.PATROL_MODES), name="ck_patrol_routes_mode"),
    )


class Road(Base):
    """An optional road network (e.g. an OpenStreetMap extract) that patrol legs follow when present."""

    __tablename__ = "roads"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    name: Mapped[str | None] = mapped_column(Text)
    highway: Mapped[str | None] = mapped_column(Text)
    oneway: Mapped[bool] = mapped_column(Boolean, server_default="false")
    source: Mapped[str | None] = mapped_column(Text)
    length_m: Mapped[float | None] = mapped_column(Float)
    geom: Mapped[Any] = mapped_column(_geom("LINESTRING"), nullable=False)


class Role(Base):
    """An access role (geo.vocab.ROLES); users.roles lists these names (checked by a trigger, migration 0006)."""

    __tablename__ = "roles"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    description: Mapped[str | None] = mapped_column(Text)


class User(Base):
    """An API user in one area (admin-unit or grid code) with one or more roles; only its token's SHA-256 is kept."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("cardinality(roles) >= 1", name="ck_users_roles_given"),
        CheckConstraint(vocab.check_sql("department", vocab.DEPARTMENTS), name="ck_users_department"),
        CheckConstraint(
            "department IS NOT NULL OR NOT ('department_handler' = ANY (roles))",
            name="ck_users_handler_department",
        ),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(Text, unique=True)
    display_name: Mapped[str | None] = mapped_column(Text)
    roles: Mapped[list[str]] = mapped_column(ARRAY(Text))
    area_code: Mapped[str] = mapped_column(String(15), index=True)
    department: Mapped[str | None] = mapped_column(String(32))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("officers.id"))
    active: Mapped[bool] = mapped_column(Boolean, server_default="true")
    created_at: Mapped[dt.datetime] = _now()


class AuditLog(Base):
    """Every write: who, what, when, before/after and why."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[dt.datetime] = _now()
    actor: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(Text)
    entity_type: Mapped[str] = mapped_column(Text)
    entity_id: Mapped[str | None] = mapped_column(Text)
    before: Mapped[dict | None] = mapped_column(JSONB)
    after: Mapped[dict | None] = mapped_column(JSONB)
    reason: Mapped[str | None] = mapped_column(Text)
    # Set at commit by the audit_log_chain trigger (migration 0005), never by the app: see geo.audit.verify.
    chain_seq: Mapped[int | None] = mapped_column(BigInteger)
    prev_hash: Mapped[bytes | None] = mapped_column(LargeBinary)
    row_hash: Mapped[bytes | None] = mapped_column(LargeBinary)
    __table_args__ = (
        Index("ix_audit_log_entity", "entity_type", "entity_id"),
        Index("ix_audit_log_chain_seq", "chain_seq", unique=True),
    )


class AuditChainTip(Base):
    """The last link of the audit chain: its sequence number and hash (one row)."""

    __tablename__ = "audit_chain_tip"
    id: Mapped[bool] = mapped_column(Boolean, CheckConstraint("id"), primary_key=True, server_default="true")
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[bytes] = mapped_column(LargeBinary)


# The case and Open311 tables live in their packages; imported here so Base.metadata (Alembic, tests) holds
# them, and the Open311 models are re-exported for the code that reads them as geo.models.
from geo.cases import models as _case_models  # noqa: E402, F401
from geo.open311.models import Open311App, Open311Request  # noqa: E402, F401
