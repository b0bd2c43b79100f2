"""Our CQL2 tree written in CQL2-JSON's shape, to compare with the kept `cql2` parser's to_json()."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import shapely.wkt
from shapely.geometry import mapping

from geo.ogc import cql2
from geo.ogc.wkt import GeometryLiteral


def as_json(node: Any) -> Any:
    """Our tree in CQL2-JSON's shape (as `cql2` writes it: NOT wraps LIKE/IN/BETWEEN/IS NULL, n-ary AND/OR)."""
    if isinstance(node, cql2.Prop):
        return {"property": node.name}
    if isinstance(node, cql2.Lit):
        if node.kind == "number":
            return float(node.value)
        if node.kind in ("timestamp", "date"):
            return {node.kind: node.value}
        return node.value
    if isinstance(node, GeometryLiteral):
        if node.bbox is not None:
            return {"bbox": list(node.bbox)}
        return json.loads(json.dumps(mapping(shapely.wkt.loads(node.wkt))))
    if isinstance(node, cql2.BoolOp):
        args: list = []
        for item in node.items:  # (a AND (b AND c)) is one n-ary AND in CQL2-JSON
            sub = as_json(item)
            args.extend(sub["args"] if isinstance(sub, dict) and sub.get("op") == node.op.lower() else [sub])
        return {"op": node.op.lower(), "args": args}
    if isinstance(node, cql2.Not):
        return {"op": "not", "args": [as_json(node.item)]}
    if isinstance(node, cql2.Compare):
        out: dict = {"op": node.op, "args": [as_json(node.left), as_json(node.right)]}
    elif isinstance(node, cql2.Like):
        out = {"op": "like", "args": [as_json(node.operand), as_json(node.pattern)]}
    elif isinstance(node, cql2.Between):
        out = {"op": "between", "args": [as_json(node.operand), as_json(node.low), as_json(node.high)]}
    elif isinstance(node, cql2.In):
        out = {"op": "in", "args": [as_json(node.operand), [as_json(i) for i in node.items]]}
    elif isinstance(node, cql2.IsNull):
        out = {"op": "isNull", "args": [as_json(node.operand)]}
    elif isinstance(node, cql2.Spatial):
        return {"op": node.fn.lower(), "args": [as_json(node.left), as_json(node.right)]}
    else:
        raise AssertionError(f"no CQL2-JSON form for {node!r}")
    return {"op": "not", "args": [out]} if getattr(node, "negated", False) else out


def normalise(value: Any) -> Any:
    """Instants as UTC datetimes (both spell the same instant differently), ints as floats, GeoJSON tuples as lists."""
    if isinstance(value, dict):
        if set(value) == {"timestamp"}:
            return dt.datetime.fromisoformat(value["timestamp"].replace("Z", "+00:00")).astimezone(dt.UTC)
        return {k: normalise(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [normalise(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


_PYGEOFILTER_OPS = {
    "And": "and", "Or": "or", "Not": "not", "Equal": "=", "NotEqual": "<>", "LessThan": "<", "LessEqual": "<=",
    "GreaterThan": ">", "GreaterEqual": ">=", "Between": "between", "Like": "like", "In": "in", "IsNull": "isNull",
    **{f"Geometry{n}": f"s_{n.lower()}" for n in
       ("Intersects", "Equals", "Disjoint", "Touches", "Within", "Overlaps", "Crosses", "Contains")},
}  # fmt: skip


def op_tree(node: Any) -> Any:
    """Only the operators, nested (n-ary AND/OR flattened), from CQL2-JSON or a pygeofilter tree: who binds what."""
    if isinstance(node, dict) and "op" in node:
        op, args = node["op"], node["args"]
    elif type(node).__module__ == "pygeofilter.ast" and type(node).__name__ in _PYGEOFILTER_OPS:
        op = _PYGEOFILTER_OPS[type(node).__name__]
        args = node.get_sub_nodes() if op in ("and", "or", "not") else []
        if getattr(node, "not_", False):
            return ["not", [op]]
    else:
        return None
    kids: list = []
    for arg in args:
        sub = op_tree(arg)
        if sub is not None:
            kids.extend(sub[1:] if op in ("and", "or") and sub[0] == op else [sub])
    return [op, *kids]
