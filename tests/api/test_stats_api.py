"""/api/v1/stats over HTTP: the JSON shapes, the Reader role, and 400/404 bodies naming the problem."""

from __future__ import annotations

import pytest
from scipy.stats import binomtest

from geo.auth import create_user
from tests.stats_fixtures import COUNTY, E1, TOWN, W1, W2, WEST, load_stats_data, move_west_boundary

YEAR = {"start": "2020-01-01", "end": "2021-01-01"}
BASE = "/api/v1/stats"


@pytest.fixture
def viewer(db):
    load_stats_data(db)
    token = create_user(db, "stats-viewer", "viewer")
    # Commit (to the test's savepoint) so that a request that fails and rolls back keeps the data.
    db.commit()
    return {"Authorization": f"Bearer {token}"}


def get(client, headers, path, **params):
    r = client.get(f"{BASE}/{path}", params=params, headers=headers)
    return r.status_code, r.json()


def test_every_stats_route_needs_a_token(client):
    for path in ("counts", "coverage", "compare", "trend", "zero-incident", "top-grids", "breakdown", "disputes"):
        assert client.get(f"{BASE}/{path}", params=YEAR).status_code == 401, path


def test_compare_city_yoy(client, viewer):
    status, body = get(client, viewer, "compare", admin_code="610300", previous="yoy", **YEAR)
    assert status == 200
    assert body["scope"] == {"code": "610300", "level": "city", "name": "宝鸡市"}
    assert body["current"] == {"start": "2020-01-01", "end": "2021-01-01", "days": 366, "coverage": "partial"}
    assert body["previous"] == {
        "start": "2019-01-01",
        "end": "2020-01-01",
        "days": 365,
        "coverage": "covered",
        "mode": "yoy",
    }
    total = body["total"]
    assert total["p_value"] == pytest.approx(binomtest(30, 47, 366 / 731).pvalue, rel=1e-9)
    assert {k: v for k, v in total.items() if k not in ("p_value", "method")} == {
        "current": 30,
        "previous": 17,
        "difference": 13,
        "percent_change": 76.47,
        "z_score": 2.708,
        "p_adjusted": None,
        "significant": False,
        "status": "partial",
    }
    assert total["method"].startswith("conditional binomial test")
    assert body["data_span"] == {"first_day": "2018-12-31", "last_day": "2020-09-09"} and body["alpha"] == 0.01
    service = next(c for c in body["by_category"] if c["category"] == "service")
    # Was significant (|z| 8 > 3); the fixture's data end on 2020-09-09, so 2020 is partial: never flagged.
    assert service["percent_change"] is None and service["significant"] is False
    assert service["label_zh"] == "服务诉求" and "Benjamini" in service["method"]
    _, later = get(client, viewer, "compare", previous="prior", start="2021-01-01", end="2022-01-01")
    assert later["total"]["status"] == "no_data" and later["total"]["difference"] is None
    status, cov = get(client, viewer, "coverage", admin_code=E1, start="2021-01-01", end="2022-01-01")
    assert status == 200 and cov["data_span"] == body["data_span"]
    assert cov["window"]["coverage"] == "no_data" and cov["scope"]["level"] == "grid"


def test_categories_repeated_or_comma_separated(client, viewer):
    _, a = get(client, viewer, "counts", categories=["preventable", "property"], **YEAR)
    _, b = get(client, viewer, "counts", categories="preventable,property", **YEAR)
    assert a == b and a["total"] == 8 and a["categories"] == ["preventable", "property"]


def test_counts_trend_zero_top_breakdown_disputes(client, viewer):
    _, counts = get(client, viewer, "counts", admin_code=COUNTY, **YEAR)
    assert counts["total"] == 30 and counts["by_status"][0] == {
        "key": "reported",
        "label_zh": "已上报",
        "label_en": "Reported",
        "count": 25,
    }
    _, trend = get(client, viewer, "trend", bucket="month", categories="property", **YEAR)
    assert trend["bucket"] == "month" and len(trend["series"]) == 12
    assert trend["series"][6] == {
        "start": "2020-07-01",
        "count": 4,
        "by_category": {"property": 4},
        "coverage": "covered",
    }
    assert [b["coverage"] for b in trend["series"][8:]] == ["partial", "no_data", "no_data", "no_data"]
    _, zero = get(client, viewer, "zero-incident", admin_code=TOWN, start="2020-06-01", end="2020-08-01")
    assert (zero["total_communities"], zero["count"]) == (2, 1)
    assert zero["communities"][0] == {
        "code": WEST,
        "name": "西社区",
        "town_code": TOWN,
        "town_name": "测试街道",
        "county_code": COUNTY,
        "county_name": "渭滨区",
    }
    _, top = get(client, viewer, "top-grids", n=2, **YEAR)
    assert [(g["rank"], g["grid_code"], g["count"]) for g in top["grids"]] == [(1, E1, 21), (2, W2, 5)]
    assert top["grids"][1]["rate_per_1000_households"] == 62.5 and top["boundaries"] == "current"
    _, bd = get(client, viewer, "breakdown", admin_code="610300", level="county", **YEAR)
    assert bd["level"] == "county" and bd["total"]["current"] == 30
    unit = bd["units"][0]
    assert unit["p_value"] == pytest.approx(binomtest(30, 47, 366 / 731).pvalue, rel=1e-9)
    assert [{k: v for k, v in unit.items() if k not in ("p_value", "method")}] == [
        {
            "current": 30,
            "previous": 17,  # was 18: the prior window of 2020 is 2019 now
            "difference": 13,
            "percent_change": 76.47,
            "z_score": 2.708,
            "p_adjusted": None,
            "significant": False,
            "status": "partial",
            "code": COUNTY,
            "name": "渭滨区",
            "parent_code": "610300",
            "households": 400,
            "rate_per_1000_households": 75.0,
        }
    ]
    _, funnel = get(client, viewer, "disputes", admin_code=TOWN, **YEAR)
    assert funnel["total"] == {
        "code": TOWN,
        "name": "测试街道",
        "logged": 6,
        "mediated": 4,
        "resolved": 3,
        "mediated_pct": 66.67,
        "resolved_pct": 50.0,
    }
    assert [u["code"] for u in funnel["units"]] == [WEST, "610302001002"]


def test_historic_boundaries_over_http(client, db, viewer):
    move_west_boundary(db)
    db.commit()
    params = {"admin_code": WEST, "categories": "other", **YEAR}
    _, now = get(client, viewer, "top-grids", **params)
    _, then = get(client, viewer, "top-grids", boundaries="historic", **params)
    assert [(g["grid_code"], g["count"]) for g in now["grids"]] == [(W2, 2)]
    assert [(g["grid_code"], g["count"]) for g in then["grids"]] == [(W2, 2), (W1, 1)]
    assert then["boundaries"] == "historic"


def test_errors_name_the_problem(client, viewer):
    status, body = get(client, viewer, "compare", categories="preventable,burglary", **YEAR)
    assert status == 400 and body["code"] == "invalid_input" and body["field"] == "categories"
    assert body["value"] == "burglary" and "burglary" in body["detail"]
    status, body = get(client, viewer, "counts", start="2020-03-01", end="2020-02-01")
    assert status == 400 and body["field"] == "end" and "after start" in body["detail"]
    status, body = get(client, viewer, "counts", admin_code="610399", **YEAR)
    assert status == 404 and body["code"] == "admin_unit_not_found" and body["value"] == "610399"
    status, body = get(client, viewer, "top-grids", admin_code="610302001001009", **YEAR)
    assert status == 404 and body["code"] == "grid_not_found"
    status, body = get(client, viewer, "breakdown", admin_code=TOWN, level="county", **YEAR)
    assert status == 400 and body["field"] == "level"
    status, body = get(client, viewer, "compare", previous="lastyear", **YEAR)
    assert status == 422 and body["errors"][0]["field"] == "query.previous"
    status, body = get(client, viewer, "counts", start="2020-13-01", end="2021-01-01")
    assert status == 422


def test_openapi_documents_the_shapes(client):
    spec = client.get("/openapi.json").json()
    op = spec["paths"]["/api/v1/stats/compare"]["get"]
    ref = op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert ref.endswith("/ComparisonOut")
    params = {p["name"]: p for p in op["parameters"]}
    assert set(params) >= {"admin_code", "start", "end", "categories", "previous"}
    assert params["start"]["required"] and params["end"]["required"]
    change = spec["components"]["schemas"]["ChangeOut"]["properties"]
    assert set(change) == {
        "current",
        "previous",
        "difference",
        "percent_change",
        "z_score",
        "p_value",
        "p_adjusted",
        "significant",
        "status",
        "method",
    }
    # Each statistic's definition, with its source, in the schema.
    assert "Przyborowski" in change["p_value"]["description"] and "descriptive" in change["z_score"]["description"]
    assert "Benjamini" in change["p_adjusted"]["description"]
