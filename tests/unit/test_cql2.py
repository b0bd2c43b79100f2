"""The CQL2-text parser and its SQL translation: bound parameters only, an allowlist, positioned errors."""

from __future__ import annotations

import datetime as dt

import pytest

from geo.ogc import cql2
from geo.ogc.collections import COLLECTIONS
from geo.ogc.cql2_sql import to_sql

INCIDENTS = COLLECTIONS["incidents"]


def sql(expr: str, coll: str = "incidents") -> tuple[str, dict]:
    params: dict = {}
    return to_sql(COLLECTIONS[coll], expr, params), params


def test_precedence_not_and_or_and_parentheses():
    s, p = sql("category = 'a' OR NOT status = 'b' AND id > 3")
    assert s == "((t.category = :cql0) OR ((NOT (t.status = :cql1)) AND (t.id > :cql2)))"
    assert p == {"cql0": "a", "cql1": "b", "cql2": 3}
    s, _ = sql("(category = 'a' OR status = 'b') AND id > 3")
    assert s == "(((t.category = :cql0) OR (t.status = :cql1)) AND (t.id > :cql2))"


def test_keywords_are_case_insensitive_and_quotes_escape():
    s, p = sql("category = 'it''s' and \"status\" <> 'x' Or compound_id is not null")
    assert p["cql0"] == "it's" and "t.status <> :cql1" in s and "t.compound_id IS NOT NULL" in s


def test_values_never_reach_the_sql_text():
    hostile = "x'); DROP TABLE grids; --"
    s, p = sql(f"category = '{hostile.replace(chr(39), chr(39) * 2)}'")
    assert s == "(t.category = :cql0)" and p["cql0"] == hostile


def test_advanced_comparisons_and_temporal_literals():
    s, p = sql("id BETWEEN 1 AND 5 AND category NOT IN ('a', 'b') AND subcategory NOT LIKE 'x%'")
    assert "t.id BETWEEN :cql0 AND :cql1" in s and "t.category NOT IN (:cql2, :cql3)" in s
    assert "t.subcategory NOT LIKE :cql4" in s
    _, p = sql("occurred_at >= TIMESTAMP('2024-01-01T08:00:00+08:00') AND reported_at < DATE('2024-02-01')")
    assert p["cql0"] == dt.datetime(2024, 1, 1, tzinfo=dt.UTC) and p["cql1"] == dt.date(2024, 2, 1)


def test_spatial_literals_are_rewritten_canonically():
    s, p = sql("S_INTERSECTS(geometry, BBOX(107, 34, 108, 35))")
    assert s == "ST_Intersects(t.geom, ST_MakeEnvelope(:cql0, :cql1, :cql2, :cql3, 4326))"
    assert list(p.values()) == [107, 34, 108, 35]
    s, p = sql("s_contains(POLYGON((1 1, 2 1, 2 2, 1 1), (1.1 1.1, 1.2 1.1, 1.2 1.2, 1.1 1.1)), geom)")
    assert s.startswith("ST_Contains(ST_GeomFromText(:cql0, 4326), t.geom)")
    assert p["cql0"] == "POLYGON((1.0 1.0,2.0 1.0,2.0 2.0,1.0 1.0),(1.1 1.1,1.2 1.1,1.2 1.2,1.1 1.1))"
    _, p = sql("S_CROSSES(geometry, MULTILINESTRING((1 2, 3 4), (5 6, 7 8)))")
    assert p["cql0"] == "MULTILINESTRING((1.0 2.0,3.0 4.0),(5.0 6.0,7.0 8.0))"


@pytest.mark.parametrize(
    ("expr", "position", "token", "words"),
    [
        ("category = ", 12, "end of filter", "property name or a literal"),
        ("category = 'a' AND", 19, "end of filter", "property name or a literal"),
        ("(category = 'a'", 16, "end of filter", "expected ')'"),
        ("category == 'a'", 11, "=", "property name or a literal"),
        ("category = 'a' status = 'b'", 16, "status", "AND, OR"),
        ("category = 'unterminated", 12, "'", "unexpected character"),
        ("nosuch = 1", 1, "nosuch", "unknown property"),
        ("grid_worker_phone = '1'", 1, "grid_worker_phone", "unknown property"),
        ('category = "dispute"', 12, '"dispute"', "single quotes"),
        ("id = 'seven'", 4, "=", "cannot compare a number with a string"),
        ("geometry = 1", 10, "=", "spatial functions"),
        ("S_INTERSECTS(category, BBOX(1, 2, 3, 4))", 1, "S_INTERSECTS", "two geometries"),
        ("S_INTERSECTS(geometry, BBOX(1, 2, 3))", 28, "(", "4 numbers"),
        ("S_INTERSECTS(geometry, POINT(200 10))", 30, "200", "outside lon"),
        ("S_INTERSECTS(geometry, POLYGON((1 1, 2 1, 2 2, 1 2)))", 32, "(", "not closed"),
        ("S_INTERSECTS(geometry, POINT(1 2 3))", 34, "3", "2D"),
        ("occurred_at > TIMESTAMP('soon')", 25, "'soon'", "RFC 3339"),
        ("category LIKE 5", 10, "LIKE", "quoted pattern"),
        ("1 = 1; SELECT 1", 6, ";", "unexpected character"),
    ],
)
def test_errors_name_position_and_token(expr, position, token, words):
    with pytest.raises(cql2.Cql2Error) as err:
        sql(expr, "grids" if "grid_worker_phone" in expr else "incidents")
    e = err.value
    assert e.context["field"] == "filter"
    assert (e.context["position"], e.context["token"]) == (position, token), e.detail
    assert words in e.detail and f"position {position}" in e.detail


def test_limits_on_size_and_depth():
    with pytest.raises(cql2.Cql2Error, match="limit"):
        cql2.parse("id = 1 AND " * 3000 + "id = 1")
    with pytest.raises(cql2.Cql2Error, match="nests deeper"):
        cql2.parse("NOT " * 100 + "id = 1")
    with pytest.raises(cql2.Cql2Error, match="empty"):
        cql2.parse("   ")


def test_every_collection_admits_only_its_own_properties():
    for coll in COLLECTIONS.values():
        for prop in coll.properties:
            s, _ = sql(f"{prop.name} IS NULL", coll.id)
            assert s == f"(t.{prop.name} IS NULL)"
    with pytest.raises(cql2.Cql2Error):
        sql("occurred_at IS NULL", "grids")
