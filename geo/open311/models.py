"""The public channel's tables as SQLAlchemy models (migration 0008 mirrors them exactly)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from geo.model_base import Base


class Open311App(Base):
    """A registered Open311 client app (公众举报渠道); only the SHA-256 of its api_key is stored."""

    __tablename__ = "open311_apps"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text, unique=True)
    contact: Mapped[str | None] = mapped_column(Text)
    key_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, server_default="true")
    created_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Open311Request(Base):
    """Who filed a public-channel case through Open311: the app, and the reporter's contact (never shown)."""

    __tablename__ = "open311_requests"
    case_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("cases.id"), primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("open311_apps.id"), index=True)
    email: Mapped[str | None] = mapped_column(Text)
    name: Mapped[str | None] = mapped_column(Text)
