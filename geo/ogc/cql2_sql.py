"""CQL2 syntax tree → a SQL condition with bound parameters, over one collection's property allowlist.

Column names come only from the collection definition; operators only from fixed tables here; every
value the client wrote becomes a bound parameter. Type mismatches are 400s naming position and token.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from geo.errors import InvalidInput
from geo.ogc import cql2
from geo.ogc.collections import Collection
from geo.ogc.params import parse_instant
from geo.ogc.wkt import GeometryLiteral

SPATIAL_SQL = {
    "S_INTERSECTS": "ST_Intersects", "S_EQUALS": "ST_Equals", "S_DISJOINT": "ST_Disjoint",
    "S_TOUCHES": "ST_Touches", "S_WITHIN": "ST_Within", "S_OVERLAPS": "ST_Overlaps",
    "S_CROSSES": "ST_Crosses", "S_CONTAINS": "ST_Contains",
}  # fmt: skip
COMPARE_SQL = {"=": "=", "<>": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
GEOMETRY_NAMES = ("geometry", "geom")
_FAMILY = {"integer": "number", "number": "number", "datetime": "temporal", "timestamp": "temporal",
           "date": "temporal", "string": "string", "boolean": "boolean", "geometry": "geometry"}  # fmt: skip


class Translator:
    """Builds SQL for one filter; bound values accumulate in self.params under names prefix0, prefix1…"""

    def __init__(self, coll: Collection, text: str, params: dict[str, Any], prefix: str = "cql") -> None:
        self.coll, self.params, self.prefix = coll, params, prefix
        self.tokens = {t.pos: t.text for t in cql2.tokenize(text)}

    def error(self, message: str, pos: int) -> cql2.Cql2Error:
        token = self.tokens.get(pos, "")
        return cql2.Cql2Error(
            f"filter: {message} at position {pos + 1} ({token!r})", field="filter", position=pos + 1, token=token
        )

    def bind(self, value: Any) -> str:
        name = f"{self.prefix}{len(self.params)}"
        self.params[name] = value
        return f":{name}"

    # --- operands ------------------------------------------------------------------------------
    def operand(self, node: Any) -> tuple[str, str, Any]:
        """(sql, family, node) for a property, literal or geometry."""
        if isinstance(node, cql2.Prop):
            if node.name in GEOMETRY_NAMES:
                return "t.geom", "geometry", node
            prop = self.coll.prop(node.name)
            if prop is None:
                known = ", ".join(["geometry", *(p.name for p in self.coll.properties)])
                hint = "; strings take single quotes" if self.tokens.get(node.pos, "").startswith('"') else ""
                raise self.error(
                    f"unknown property {node.name!r} for {self.coll.id} (queryables: {known}){hint}", node.pos
                )
            return f"t.{prop.name}", _FAMILY[prop.kind], node
        if isinstance(node, GeometryLiteral):
            if node.bbox is not None:
                x1, y1, x2, y2 = (self.bind(v) for v in node.bbox)
                return f"ST_MakeEnvelope({x1}, {y1}, {x2}, {y2}, 4326)", "geometry", node
            return f"ST_GeomFromText({self.bind(node.wkt)}, 4326)", "geometry", node
        if isinstance(node, cql2.Lit):
            value = node.value
            if node.kind == "timestamp":
                value = self._instant(node)
            elif node.kind == "date":
                try:
                    value = dt.date.fromisoformat(node.value)
                except ValueError:
                    raise self.error(f"{node.value!r} is not a date (YYYY-MM-DD)", node.pos) from None
            return self.bind(value), _FAMILY[node.kind], node
        raise self.error("expected a property or a literal", getattr(node, "pos", 0))

    def _instant(self, node: cql2.Lit) -> dt.datetime:
        try:
            return parse_instant(str(node.value), "filter")
        except InvalidInput:
            raise self.error(f"{node.value!r} is not an RFC 3339 timestamp", node.pos) from None

    def scalar_pair(self, left: Any, right: Any, pos: int) -> tuple[str, str, str]:
        """SQL for two comparable operands; a string literal facing a temporal property is read as an instant."""
        a, fa, na = self.operand(left)
        b, fb, nb = self.operand(right)
        if "geometry" in (fa, fb):
            raise self.error("geometries compare only through spatial functions such as S_INTERSECTS", pos)
        if fa == "temporal" and fb == "string" and isinstance(nb, cql2.Lit):
            self.params[b[1:]] = self._instant(nb)
            fb = "temporal"
        elif fb == "temporal" and fa == "string" and isinstance(na, cql2.Lit):
            self.params[a[1:]] = self._instant(na)
            fa = "temporal"
        if fa != fb:
            raise self.error(f"cannot compare a {fa} with a {fb}", pos)
        return a, b, fa

    # --- predicates ----------------------------------------------------------------------------
    def sql(self, node: Any) -> str:
        if isinstance(node, cql2.BoolOp):
            joiner = " AND " if node.op == "AND" else " OR "
            return "(" + joiner.join(self.sql(item) for item in node.items) + ")"
        if isinstance(node, cql2.Not):
            return f"(NOT {self.sql(node.item)})"
        if isinstance(node, cql2.Lit) and node.kind == "boolean":
            return "TRUE" if node.value else "FALSE"
        if isinstance(node, cql2.Compare):
            a, b, _ = self.scalar_pair(node.left, node.right, node.pos)
            return f"({a} {COMPARE_SQL[node.op]} {b})"
        if isinstance(node, cql2.Like):
            a, fa, _ = self.operand(node.operand)
            if fa != "string" or not (isinstance(node.pattern, cql2.Lit) and node.pattern.kind == "string"):
                raise self.error("LIKE needs a string property and a quoted pattern", node.pos)
            pattern = str(node.pattern.value)
            if (len(pattern) - len(pattern.rstrip("\\"))) % 2:  # PostgreSQL refuses a pattern ending in escape
                raise self.error(
                    "a LIKE pattern may not end with a lone backslash (the escape character)", node.pos
                )
            return f"({a} {'NOT LIKE' if node.negated else 'LIKE'} {self.bind(pattern)})"
        if isinstance(node, cql2.Between):
            a, low, family = self.scalar_pair(node.operand, node.low, node.pos)
            _, high, _ = self.scalar_pair(node.operand, node.high, node.pos)
            if family == "boolean":
                raise self.error("BETWEEN needs numbers, strings or instants", node.pos)
            return f"({a} {'NOT BETWEEN' if node.negated else 'BETWEEN'} {low} AND {high})"
        if isinstance(node, cql2.In):
            parts = [self.scalar_pair(node.operand, item, node.pos) for item in node.items]
            listed = ", ".join(b for _, b, _ in parts)
            return f"({parts[0][0]} {'NOT IN' if node.negated else 'IN'} ({listed}))"
        if isinstance(node, cql2.IsNull):
            if not isinstance(node.operand, cql2.Prop):  # a literal has no type PostgreSQL could infer
                raise self.error("IS NULL applies to a property", node.pos)
            a, _, _ = self.operand(node.operand)
            return f"({a} IS {'NOT NULL' if node.negated else 'NULL'})"
        if isinstance(node, cql2.Spatial):
            a, fa, _ = self.operand(node.left)
            b, fb, _ = self.operand(node.right)
            if fa != "geometry" or fb != "geometry":
                raise self.error(
                    f"{node.fn} takes two geometries (the geometry property, BBOX(…) or WKT)", node.pos
                )
            return f"{SPATIAL_SQL[node.fn]}({a}, {b})"
        raise self.error("expected a condition", getattr(node, "pos", 0))


def to_sql(coll: Collection, text: str, params: dict[str, Any], prefix: str = "cql") -> str:
    """Parse CQL2-text and return a SQL condition on alias t, adding its bound values to params."""
    tree = cql2.parse(text)
    return Translator(coll, text, params, prefix).sql(tree)
