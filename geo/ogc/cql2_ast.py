"""The CQL2 syntax tree: what geo/ogc/cql2.py parses and geo/ogc/cql2_sql.py translates (pos: 0-based offset)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Prop:
    name: str
    pos: int


@dataclass(frozen=True)
class Lit:
    value: Any
    kind: str  # string, number, boolean, timestamp, date
    pos: int


@dataclass(frozen=True)
class Compare:
    op: str
    left: Any
    right: Any
    pos: int


@dataclass(frozen=True)
class Like:
    operand: Any
    pattern: Any
    negated: bool
    pos: int


@dataclass(frozen=True)
class Between:
    operand: Any
    low: Any
    high: Any
    negated: bool
    pos: int


@dataclass(frozen=True)
class In:
    operand: Any
    items: tuple
    negated: bool
    pos: int


@dataclass(frozen=True)
class IsNull:
    operand: Any
    negated: bool
    pos: int


@dataclass(frozen=True)
class Spatial:
    fn: str
    left: Any
    right: Any
    pos: int


@dataclass(frozen=True)
class BoolOp:
    op: str  # AND, OR
    items: tuple


@dataclass(frozen=True)
class Not:
    item: Any
