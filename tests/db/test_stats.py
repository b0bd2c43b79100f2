"""geo.stats on the real PostGIS: hand-checked figures on the tiny tree (see tests/stats_fixtures.py)."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from sqlalchemy import text

from geo import stats
from geo.errors import AdminUnitNotFound, GridNotFound, InvalidInput
from geo.stats.window import Window, previous_window
from tests.stats_fixtures import COUNTY, E1, E2, EAST, TOWN, W1, W2, WEST, load_stats_data, move_west_boundary

Y2020 = (dt.date(2020, 1, 1), dt.date(2021, 1, 1))


@pytest.fixture
def data(db):
    load_stats_data(db)
    return db


def by_cat(result) -> dict:
    return {c.category: c for c in result.by_category}


def test_change_math():
    c = stats.change(3, 4)
    assert (c.difference, c.percent_change, c.z_score, c.significant) == (-1, -25.0, -0.536, False)
    assert math.isclose(c.z_score, 2 * (math.sqrt(3) - 2), abs_tol=5e-4)
    zero = stats.change(5, 0)
    assert zero.percent_change is None and zero.z_score == round(2 * math.sqrt(5), 3)
    assert stats.change(16, 1).z_score == 6.0 and stats.change(16, 1).significant
    assert not stats.change(0, 0).significant and stats.change(0, 0).percent_change is None
    # From nothing: 2 incidents give z = 2.83 (noise), 3 give 3.46 (a real change).
    assert stats.change(2, 0).significant is False and stats.change(3, 0).significant is True


def test_previous_windows():
    leap = Window(dt.date(2020, 1, 1), dt.date(2021, 1, 1))
    assert previous_window(leap, "prior") == Window(dt.date(2018, 12, 31), dt.date(2020, 1, 1))
    assert previous_window(leap, "yoy") == Window(dt.date(2019, 1, 1), dt.date(2020, 1, 1))
    feb29 = Window(dt.date(2020, 2, 29), dt.date(2020, 3, 1))
    assert previous_window(feb29, "yoy") == Window(dt.date(2019, 2, 28), dt.date(2019, 3, 1))


def test_city_comparison_prior_and_yoy(data):
    prior = stats.compare_periods(data, "610300", *Y2020)
    assert prior.scope.level == "city" and prior.previous.start == dt.date(2018, 12, 31)
    t = prior.total
    assert (t.current, t.previous, t.difference, t.percent_change, t.z_score) == (30, 18, 12, 66.67, 2.469)
    cats = by_cat(prior)
    assert [(cats[k].current, cats[k].previous) for k in ("preventable", "property", "dispute", "hazard")] == [
        (3, 4),
        (5, 10),  # the property crime outside the jurisdiction is not the city's
        (6, 2),
        (0, 2),
    ]
    assert cats["property"].percent_change == -50.0 and cats["property"].z_score == -1.852
    assert cats["dispute"].percent_change == 200.0 and cats["dispute"].z_score == 2.071
    service = cats["service"]
    assert (service.current, service.previous, service.percent_change, service.z_score) == (16, 0, None, 8.0)
    assert service.significant and not t.significant
    assert cats["preventable"].label_zh == "可防性案件" and cats["preventable"].label_en == "Preventable case"

    yoy = stats.compare_periods(data, "610300", *Y2020, previous="yoy")
    assert yoy.previous.start == dt.date(2019, 1, 1) and yoy.previous.mode == "yoy"
    assert (yoy.total.previous, yoy.total.percent_change, yoy.total.z_score) == (17, 76.47, 2.708)
    assert by_cat(yoy)["hazard"].previous == 1 and by_cat(yoy)["hazard"].z_score == -2.0


def test_comparison_with_category_filter_and_scopes(data):
    r = stats.compare_periods(data, EAST, *Y2020, categories="preventable,property")
    assert r.categories == ["preventable", "property"] and [c.category for c in r.by_category] == r.categories
    assert (r.total.current, r.total.previous) == (6, 9)  # E1: 4 property vs 9; E2: 2 preventable vs 0
    assert by_cat(r)["preventable"].percent_change is None
    grid = stats.compare_periods(data, E2, *Y2020, categories=["preventable"])
    assert grid.scope.level == "grid" and (grid.total.current, grid.total.previous) == (2, 0)
    county = stats.compare_periods(data, COUNTY, *Y2020)
    assert (county.total.current, county.total.previous) == (30, 18)
    town = stats.compare_periods(data, TOWN, *Y2020, categories=["dispute"])
    assert (town.total.current, town.total.previous) == (6, 2)


def test_counts_by_category_and_status(data):
    r = stats.counts(data, "610300", *Y2020)
    assert r.total == 30
    assert {c.key: c.count for c in r.by_category} == {
        "preventable": 3,
        "property": 5,
        "dispute": 6,
        "hazard": 0,
        "service": 16,
        "other": 0,
    }
    assert {s.key: s.count for s in r.by_status} == {
        "reported": 25,
        "assigned": 0,
        "in_progress": 2,
        "mediated": 1,
        "resolved": 1,
        "closed": 1,
    }
    assert r.by_status[0].label_zh == "已上报"


def test_local_day_boundaries(data):
    # 2019-12-31 23:30 and 2020-01-01 00:30 local are both 31 December in UTC.
    day = stats.trend(data, "610300", dt.date(2019, 12, 31), dt.date(2020, 1, 2), "day")
    assert [(b.start, b.count) for b in day.series] == [(dt.date(2019, 12, 31), 1), (dt.date(2020, 1, 1), 2)]
    assert day.series[0].by_category["hazard"] == 1 and day.series[1].by_category["preventable"] == 2
    assert stats.counts(data, "610300", dt.date(2020, 1, 1), dt.date(2020, 1, 2)).total == 2
    # The city reads the daily roll-up; a town scans incidents: both must cut days at local midnight.
    town = stats.trend(data, TOWN, dt.date(2019, 12, 31), dt.date(2020, 1, 2), "day")
    assert [(b.start, b.count) for b in town.series] == [(dt.date(2019, 12, 31), 1), (dt.date(2020, 1, 1), 2)]


def test_monthly_and_weekly_trend(data):
    r = stats.trend(data, "610300", *Y2020, "month", ["preventable", "property"])
    assert len(r.series) == 12 and r.total == 8
    assert {b.start.month: b.count for b in r.series if b.count} == {1: 2, 3: 1, 5: 1, 7: 4}
    week = stats.trend(data, "610300", dt.date(2020, 1, 1), dt.date(2020, 1, 15), "week")
    # Weeks start on Monday, so the first bucket (30 Dec 2019) holds only the range's days.
    assert [b.start for b in week.series] == [dt.date(2019, 12, 30), dt.date(2020, 1, 6), dt.date(2020, 1, 13)]
    assert [b.count for b in week.series] == [2, 0, 0]


def test_zero_incident_communities(data):
    full = stats.zero_incident_communities(data, "610300", *Y2020)
    assert (full.total_communities, full.count, full.categories) == (2, 0, ["preventable", "property"])
    summer = stats.zero_incident_communities(data, COUNTY, dt.date(2020, 6, 1), dt.date(2020, 8, 1))
    assert summer.count == 1 and [c.code for c in summer.communities] == [WEST]
    z = summer.communities[0]
    assert (z.name, z.town_code, z.town_name, z.county_code, z.county_name) == (
        "西社区",
        TOWN,
        "测试街道",
        COUNTY,
        "渭滨区",
    )
    autumn = stats.zero_incident_communities(data, TOWN, dt.date(2020, 8, 1), dt.date(2021, 1, 1))
    assert autumn.count == 2
    assert stats.zero_incident_communities(data, EAST, *Y2020, categories="hazard").count == 1
    assert stats.zero_incident_communities(data, "610300", *Y2020, categories=["dispute"]).count == 0
    with pytest.raises(InvalidInput):
        stats.zero_incident_communities(data, W1, *Y2020)


def test_top_grids_with_rates(data):
    r = stats.top_grids(data, "610300", *Y2020, n=10)
    got = [(g.rank, g.grid_code, g.count, g.rate_per_1000_households) for g in r.grids]
    # W1 and E2 tie on 2: the lower code ranks first. E2 has 0 households: no rate.
    assert got == [(1, E1, 21, 105.0), (2, W2, 5, 62.5), (3, W1, 2, 16.667), (4, E2, 2, None)]
    first = r.grids[0]
    assert (first.grid_name, first.community_name, first.town_name, first.county_code, first.households) == (
        "东一网格",
        "东社区",
        "测试街道",
        COUNTY,
        200,
    )
    assert [g.grid_code for g in stats.top_grids(data, WEST, *Y2020, n=1).grids] == [W2]


def test_historic_boundaries(data):
    move_west_boundary(data)
    other = ["other"]
    current = stats.grid_counts(data, stats.resolve_scope(data, "610300"), [Window(*Y2020)], other)
    assert current == {W2: [2], E2: [1]}
    historic = stats.grid_counts(data, stats.resolve_scope(data, "610300"), [Window(*Y2020)], other, "historic")
    # March: the strip was W1's; September: W2's; the W2/E2 edge point goes to the lower code, W2.
    assert historic == {W1: [1], W2: [2]}
    east = stats.grid_counts(data, stats.resolve_scope(data, EAST), [Window(*Y2020)], other, "historic")
    assert east == {}  # the edge point is W2's, so the east community does not count it too
    top = stats.top_grids(data, WEST, *Y2020, categories=other, boundaries="historic")
    assert [(g.grid_code, g.count) for g in top.grids] == [(W2, 2), (W1, 1)]
    b = stats.breakdown(data, WEST, *Y2020, level="grid", categories=other, boundaries="historic")
    assert {u.code: u.current for u in b.units} == {W1: 1, W2: 2} and b.total.current == 3
    b_now = stats.breakdown(data, WEST, *Y2020, level="grid", categories=other)
    assert {u.code: u.current for u in b_now.units} == {W1: 0, W2: 2} and b_now.total.current == 2


def test_breakdown_by_child_unit(data):
    city = stats.breakdown(data, "610300", *Y2020)
    assert city.level == "county" and len(city.units) == 1
    u = city.units[0]
    # The fixture has no admin households: the county's are its grids' (120 + 80 + 200 + 0).
    assert (u.code, u.name, u.current, u.previous, u.households, u.rate_per_1000_households) == (
        COUNTY,
        "渭滨区",
        30,
        18,
        400,
        75.0,
    )
    town = stats.breakdown(data, TOWN, *Y2020)
    assert town.level == "community"
    rows = {x.code: x for x in town.units}
    assert (rows[WEST].current, rows[WEST].previous, rows[WEST].percent_change, rows[WEST].z_score) == (
        7,
        7,
        0.0,
        0.0,
    )
    east = rows[EAST]
    assert (east.current, east.previous, east.z_score, east.significant) == (23, 11, 2.958, False)
    assert east.rate_per_1000_households == 115.0 and town.total.current == 30
    yoy = {x.code: x for x in stats.breakdown(data, TOWN, *Y2020, previous="yoy").units}
    assert (yoy[EAST].previous, yoy[EAST].percent_change, yoy[EAST].z_score, yoy[EAST].significant) == (
        10,
        130.0,
        3.267,
        True,
    )
    grids = stats.breakdown(data, "610300", *Y2020, level="grid", categories="preventable")
    assert {x.code: x.current for x in grids.units} == {W1: 1, W2: 0, E1: 0, E2: 2}
    with pytest.raises(InvalidInput, match="not below"):
        stats.breakdown(data, TOWN, *Y2020, level="county")


def test_admin_households_win_over_grid_sums(data):
    data.execute(text("UPDATE admin_units SET households = 1000 WHERE code = :c"), {"c": WEST})
    rows = {x.code: x for x in stats.breakdown(data, TOWN, *Y2020).units}
    assert rows[WEST].households == 1000 and rows[WEST].rate_per_1000_households == 7.0
    assert rows[EAST].households == 200


def test_dispute_funnel(data):
    r = stats.dispute_funnel(data, TOWN, *Y2020)
    assert r.level == "community"
    t = r.total
    assert (t.code, t.logged, t.mediated, t.resolved, t.mediated_pct, t.resolved_pct) == (
        TOWN,
        6,
        4,
        3,
        66.67,
        50.0,
    )
    rows = {x.code: x for x in r.units}
    assert (rows[WEST].logged, rows[WEST].mediated, rows[WEST].resolved, rows[WEST].resolved_pct) == (
        5,
        4,
        2,
        40.0,
    )
    # resolved_at set counts as resolved even though the status never reached 'mediated'.
    assert (rows[EAST].logged, rows[EAST].mediated, rows[EAST].resolved) == (1, 0, 1)
    city = stats.dispute_funnel(data, "610300", *Y2020)
    assert [(x.code, x.logged, x.resolved) for x in city.units] == [(COUNTY, 6, 3)]
    before = stats.dispute_funnel(data, "610300", dt.date(2019, 1, 1), dt.date(2020, 1, 1))
    assert (before.total.logged, before.total.mediated, before.total.resolved) == (2, 0, 0)
    empty = stats.dispute_funnel(data, "610300", dt.date(2015, 1, 1), dt.date(2016, 1, 1))
    assert empty.total.logged == 0 and empty.total.resolved_pct is None and empty.units[0].resolved_pct is None


def test_input_errors(data):
    with pytest.raises(InvalidInput, match="unknown category 'burglary'") as exc:
        stats.counts(data, "610300", *Y2020, categories="preventable,burglary")
    assert exc.value.context["field"] == "categories"
    with pytest.raises(InvalidInput, match="must be after start") as exc:
        stats.compare_periods(data, "610300", dt.date(2020, 2, 1), dt.date(2020, 1, 1))
    assert exc.value.context["field"] == "end"
    with pytest.raises(AdminUnitNotFound):
        stats.counts(data, "610399", *Y2020)
    with pytest.raises(GridNotFound):
        stats.counts(data, "610302001001009", *Y2020)
    with pytest.raises(InvalidInput, match="digits"):
        stats.counts(data, "6103021", *Y2020)
    with pytest.raises(InvalidInput, match="previous"):
        stats.compare_periods(data, "610300", *Y2020, previous="last")
    with pytest.raises(InvalidInput, match="bucket"):
        stats.trend(data, "610300", *Y2020, bucket="hour")
    with pytest.raises(InvalidInput, match="outside") as exc:
        stats.compare_periods(data, "610300", dt.date(1, 1, 1), dt.date(2020, 1, 1), previous="yoy")
    assert exc.value.context["field"] == "start"
    with pytest.raises(InvalidInput, match="buckets exceed"):
        stats.trend(data, "610300", dt.date(1950, 1, 1), dt.date(2100, 1, 1), bucket="day")
