"""Our CQL2-text parser against a kept one (`cql2`, the Rust implementation) as an independent oracle.

Every valid filter of the corpus (tests/cql2_corpus.py) is accepted by both and read into the same
structure (ours rendered as CQL2-JSON and compared with `cql2`'s); every hostile one is refused by ours
with Cql2Error (a 400), and nothing in the corpus, its edges or its seeded mutants raises anything else.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import cql2 as kept
import pytest
import shapely.wkt
from shapely.geometry import mapping

from geo.errors import InvalidInput
from geo.ogc import cql2
from geo.ogc.collections import COLLECTIONS
from geo.ogc.cql2_sql import to_sql
from geo.ogc.wkt import GeometryLiteral
from tests.cql2_corpus import EDGE, HOSTILE, VALID, generated


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


@pytest.mark.parametrize(("coll", "text"), VALID, ids=[t[:50] for _, t in VALID])
def test_valid_filters_read_alike_by_ours_and_the_kept_parser(coll, text):
    to_sql(COLLECTIONS[coll], text, {})  # ours accepts it, allowlist and types included
    theirs = kept.parse_text(text).to_json()
    assert normalise(as_json(cql2.parse(text))) == normalise(theirs)


@pytest.mark.parametrize(("coll", "text"), HOSTILE, ids=[repr(t[:40]) for _, t in HOSTILE])
def test_hostile_filters_are_refused_with_our_400(coll, text):
    with pytest.raises(InvalidInput) as err:
        to_sql(COLLECTIONS[coll], text, {})
    assert err.value.context.get("field") == "filter"


def test_edges_and_mutants_are_accepted_or_refused_never_crash():
    crashes = []
    for coll, text in [*EDGE, *generated()]:
        try:
            to_sql(COLLECTIONS[coll], text, {})
        except InvalidInput:
            pass
        except Exception as exc:  # anything else would be a 500
            crashes.append((text[:80], type(exc).__name__, str(exc)[:80]))
    assert crashes == []
