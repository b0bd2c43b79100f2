"""The declarative base every table model shares (geo.models and the packages' own models, e.g. geo.cases)."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass
