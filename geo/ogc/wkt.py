"""Geometry literals inside CQL2 text: BBOX(…) and WKT, parsed to numbers and re-written canonically.

The re-written WKT (only keywords, parentheses and Python-formatted floats) is what gets bound as a
parameter; the client's text never reaches SQL. Rings must close; lon/lat must lie in range.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

GEOMETRY_KEYWORDS = {
    "BBOX", "POINT", "LINESTRING", "POLYGON", "MULTIPOINT", "MULTILINESTRING", "MULTIPOLYGON", "GEOMETRYCOLLECTION",
}  # fmt: skip
MAX_POSITIONS = 100_000

Position = tuple[float, float]


@dataclass(frozen=True)
class GeometryLiteral:
    kind: str  # "bbox" or the WKT type in capitals
    wkt: str  # canonical WKT (for a bbox: its polygon)
    bbox: tuple[float, float, float, float] | None
    pos: int


class _Reader:
    """Walks the CQL2 token list from a geometry keyword, raising through the parser's error()."""

    def __init__(self, tokens: list, i: int, error: Callable[..., Exception]) -> None:
        self.tokens, self.i, self.error, self.count = tokens, i, error, 0

    @property
    def tok(self) -> Any:
        return self.tokens[self.i]

    def fail(self, message: str, tok: Any = None) -> Exception:
        return self.error(message, tok or self.tok)

    def expect(self, kind: str, what: str) -> Any:
        if self.tok.kind != kind:
            raise self.fail(f"expected {what}")
        tok = self.tok
        self.i += 1
        return tok

    def number(self) -> float:
        tok = self.expect("number", "a number")
        return float(tok.text)

    def position(self) -> Position:
        start = self.tok
        x, y = self.number(), self.number()
        if self.tok.kind == "number":
            raise self.fail("expected 2D coordinates (lon lat); a third ordinate is not supported")
        if not (-180 <= x <= 180 and -90 <= y <= 90):
            raise self.fail(f"coordinate ({x} {y}) is outside lon ±180 / lat ±90 (lon lat order)", start)
        self.count += 1
        if self.count > MAX_POSITIONS:
            raise self.fail(f"geometry has more than {MAX_POSITIONS} positions")
        return (x, y)

    def listed(self, item: Callable[[], Any]) -> list:
        self.expect("(", "'('")
        items = [item()]
        while self.tok.kind == ",":
            self.i += 1
            items.append(item())
        self.expect(")", "')'")
        return items

    def line(self, minimum: int, closed: bool) -> list[Position]:
        start = self.tok
        pts = self.listed(self.position)
        if len(pts) < minimum:
            raise self.fail(f"{'a ring' if closed else 'a line'} needs at least {minimum} positions", start)
        if closed and pts[0] != pts[-1]:
            raise self.fail("polygon ring is not closed (first and last positions differ)", start)
        return pts

    def polygon(self) -> list[list[Position]]:
        return self.listed(lambda: self.line(4, True))

    def multipoint_member(self) -> Position:
        if self.tok.kind == "(":  # MULTIPOINT((1 2),(3 4)) and MULTIPOINT(1 2, 3 4) are both valid WKT
            self.i += 1
            p = self.position()
            self.expect(")", "')'")
            return p
        return self.position()

    def geometry(self) -> tuple[str, str]:
        kw = self.tok.text.upper() if self.tok.kind == "word" else ""
        if kw not in GEOMETRY_KEYWORDS or kw == "BBOX":
            raise self.fail("expected a WKT geometry")
        self.i += 1
        if kw == "POINT":
            self.expect("(", "'('")
            p = self.position()
            self.expect(")", "')'")
            return kw, f"POINT({_pos(p)})"
        if kw == "LINESTRING":
            return kw, f"LINESTRING({_line(self.line(2, False))})"
        if kw == "POLYGON":
            return kw, f"POLYGON({_poly(self.polygon())})"
        if kw == "MULTIPOINT":
            return kw, "MULTIPOINT(" + ",".join(f"({_pos(p)})" for p in self.listed(self.multipoint_member)) + ")"
        if kw == "MULTILINESTRING":
            lines = self.listed(lambda: self.line(2, False))
            return kw, "MULTILINESTRING(" + ",".join(f"({_line(ln)})" for ln in lines) + ")"
        if kw == "MULTIPOLYGON":
            polys = self.listed(self.polygon)
            return kw, "MULTIPOLYGON(" + ",".join(f"({_poly(p)})" for p in polys) + ")"
        members = self.listed(self.geometry)
        return kw, "GEOMETRYCOLLECTION(" + ",".join(w for _, w in members) + ")"

    def bbox(self) -> tuple[float, float, float, float]:
        start = self.tok
        nums = self.listed(self.number)
        if len(nums) != 4:
            raise self.fail(f"BBOX takes 4 numbers (minlon, minlat, maxlon, maxlat); got {len(nums)}", start)
        x1, y1, x2, y2 = nums
        if not (-180 <= x1 <= x2 <= 180 and -90 <= y1 <= y2 <= 90):
            raise self.fail("BBOX must be minlon, minlat, maxlon, maxlat within ±180/±90", start)
        return x1, y1, x2, y2


def _pos(p: Position) -> str:
    return f"{p[0]!r} {p[1]!r}"


def _line(pts: list[Position]) -> str:
    return ",".join(_pos(p) for p in pts)


def _poly(rings: list[list[Position]]) -> str:
    return ",".join(f"({_line(r)})" for r in rings)


def parse_geometry(tokens: list, i: int, error: Callable[..., Exception]) -> tuple[GeometryLiteral, int]:
    """Parse a BBOX(…) or WKT literal starting at tokens[i]; returns it and the index after it."""
    reader = _Reader(tokens, i, error)
    start = reader.tok
    if start.text.upper() == "BBOX":
        reader.i += 1
        x1, y1, x2, y2 = reader.bbox()
        wkt = f"POLYGON(({x1!r} {y1!r},{x2!r} {y1!r},{x2!r} {y2!r},{x1!r} {y2!r},{x1!r} {y1!r}))"
        return GeometryLiteral("bbox", wkt, (x1, y1, x2, y2), start.pos), reader.i
    kind, wkt = reader.geometry()
    return GeometryLiteral(kind, wkt, None, start.pos), reader.i
