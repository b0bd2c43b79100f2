"""geo.stats on the real PostGIS: hand-checked figures on the tiny tree (see tests/stats_fixtures.py)."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from scipy.stats import binomtest, false_discovery_control
from sqlalchemy import text

from geo import stats
from geo.errors import AdminUnitNotFound, GridNotFound, InvalidInput
from geo.scope import resolve_scope
from geo.stats.filters import Window
from geo.stats.windows import following_window, previous_window
from tests.stats_fixtures import COUNTY, E1, E2, EAST, TOWN, W1, W2, WEST, load_stats_data, move_west_boundary

Y2020 = (dt.date(2020, 1, 1), dt.date(2021, 1, 1))


@pytest.fixture
def data(db):
    load_stats_data(db)
    return db


def by_cat(result) -> dict:
    return {c.category: c for c in result.by_category}


def _binomial_two_sided(k: int, n: int, share: float) -> float:
    """Hand-worked exact two-sided binomial p: the sum of the outcomes no likelier than k (Clopper's rule)."""
    probs = [math.comb(n, i) * share**i * (1 - share) ** (n - i) for i in range(n + 1)]
    return min(1.0, sum(q for q in probs if q <= probs[k] * (1 + 1e-7)))


def test_change_math():
    # Was: |z| = |2(√C − √P)| > 3 flagged a change (3 vs 0 was "real"); for two single periods z has variance ~2.
    # Now: the conditional binomial test of the two counts (exposure = days), checked by hand.
    c = stats.change(3, 4)
    assert (c.difference, c.percent_change, c.z_score, c.significant) == (-1, -25.0, -0.536, False)
    assert c.p_value == pytest.approx(1.0) and c.status == "ok"
    assert math.isclose(c.z_score, 2 * (math.sqrt(3) - 2), abs_tol=5e-4)  # kept, as a descriptive figure
    zero = stats.change(5, 0)
    assert zero.percent_change is None and zero.z_score == round(2 * math.sqrt(5), 3)
    big = stats.change(16, 1)
    assert big.p_value == pytest.approx(2 * 18 / 2**17) and big.significant  # P(X ≥ 16) + P(X ≤ 1), X ~ B(17, ½)
    assert not stats.change(0, 0).significant and stats.change(0, 0).p_value == 1.0
    # From nothing: 3 incidents were "a real change" by |z| > 3; exactly, p = 2 / 2³ = 0.25. 8 give p = 2⁻⁷.
    assert stats.change(3, 0).p_value == pytest.approx(0.25) and not stats.change(3, 0).significant
    assert stats.change(8, 0).p_value == pytest.approx(2**-7) and stats.change(8, 0).significant
    # Unequal exposure: 2020 (366 days) against 2019 (365): the share is 366/731, not ½.
    leap = stats.change(40, 20, 366, 365)
    assert leap.p_value == pytest.approx(_binomial_two_sided(40, 60, 366 / 731), rel=1e-9)
    assert leap.p_value == pytest.approx(binomtest(40, 60, 366 / 731).pvalue, rel=1e-12)
    partial = stats.change(16, 0, status="partial")
    assert partial.p_value is not None and partial.p_value < 0.01 and not partial.significant
    none = stats.change(16, 0, status="no_data")
    assert (none.difference, none.percent_change, none.z_score, none.p_value, none.significant) == (
        None,
        None,
        None,
        None,
        False,
    )


def test_previous_windows():
    # Was: 'prior' moved back 366 days from 2020, giving [2018-12-31, 2020-01-01), shown as 2018-12-31 – 2019-12-31.
    # Whole months now move by months: the year before 2020 is 2019 (its 365 days are the test's exposure).
    leap = Window(dt.date(2020, 1, 1), dt.date(2021, 1, 1))
    assert previous_window(leap, "prior") == Window(dt.date(2019, 1, 1), dt.date(2020, 1, 1))
    assert previous_window(leap, "yoy") == Window(dt.date(2019, 1, 1), dt.date(2020, 1, 1))
    feb29 = Window(dt.date(2020, 2, 29), dt.date(2020, 3, 1))
    assert previous_window(feb29, "yoy") == Window(dt.date(2019, 2, 28), dt.date(2019, 3, 1))
    assert previous_window(feb29, "prior") == Window(dt.date(2020, 2, 28), dt.date(2020, 2, 29))
    march = Window(dt.date(2020, 3, 1), dt.date(2020, 4, 1))
    assert previous_window(march, "prior") == Window(dt.date(2020, 2, 1), dt.date(2020, 3, 1))  # 29 days
    days28 = Window(dt.date(2020, 3, 5), dt.date(2020, 4, 2))
    assert previous_window(days28, "prior") == Window(dt.date(2020, 2, 6), dt.date(2020, 3, 5))
    # The window after a year is the next year, its last day included (was 365 days: 2020-12-31 dropped).
    y2019 = Window(dt.date(2019, 1, 1), dt.date(2020, 1, 1))
    assert following_window(y2019) == Window(dt.date(2020, 1, 1), dt.date(2021, 1, 1))
    assert following_window(days28) == Window(dt.date(2020, 4, 2), dt.date(2020, 4, 30))


def test_city_comparison_prior_and_yoy(data):
    # The prior window of 2020 is now 2019 (was [2018-12-31, 2020-01-01): 18 with the 2018-12-31 hazard).
    prior = stats.compare_periods(data, "610300", *Y2020)
    assert prior.scope.level == "city" and prior.previous.start == dt.date(2019, 1, 1)
    assert (prior.current.days, prior.previous.days) == (366, 365)
    t = prior.total
    assert (t.current, t.previous, t.difference, t.percent_change, t.z_score) == (30, 17, 13, 76.47, 2.708)
    assert t.p_value == pytest.approx(_binomial_two_sided(30, 47, 366 / 731), rel=1e-9)
    cats = by_cat(prior)
    assert [(cats[k].current, cats[k].previous) for k in ("preventable", "property", "dispute", "hazard")] == [
        (3, 4),
        (5, 10),  # the property crime outside the jurisdiction is not the city's
        (6, 2),
        (0, 1),
    ]
    assert cats["property"].percent_change == -50.0 and cats["property"].z_score == -1.852
    assert cats["dispute"].percent_change == 200.0 and cats["dispute"].z_score == 2.071
    service = cats["service"]
    assert (service.current, service.previous, service.percent_change, service.z_score) == (16, 0, None, 8.0)
    assert service.p_value == pytest.approx((366 / 731) ** 16 + (365 / 731) ** 16, rel=1e-9)
    # The fixture's data run 2018-12-31 – 2020-09-09: 2020 is only partly covered, so nothing is flagged
    # (was: service 16 vs 0 flagged as a real rise). Flags on covered data: test_stats_significance.py.
    assert prior.current.coverage == "partial" and prior.previous.coverage == "covered"
    assert prior.data_span is not None and prior.data_span.label() == "2018-12-31 – 2020-09-09"
    assert t.status == "partial" and not any(c.significant for c in [t, *prior.by_category])
    assert cats["preventable"].label_zh == "可防性案件" and cats["preventable"].label_en == "Preventable case"

    yoy = stats.compare_periods(data, "610300", *Y2020, previous="yoy")
    assert yoy.previous.start == dt.date(2019, 1, 1) and yoy.previous.mode == "yoy"
    assert (yoy.total.previous, yoy.total.percent_change, yoy.total.z_score) == (17, 76.47, 2.708)
    assert by_cat(yoy)["hazard"].previous == 1 and by_cat(yoy)["hazard"].z_score == -2.0


def test_periods_outside_the_data_are_no_data(data):
    # 2021 against 2020 and 2018 against 2017: a window wholly outside the data is no data, never a change.
    after = stats.compare_periods(data, "610300", dt.date(2021, 1, 1), dt.date(2022, 1, 1))
    assert after.current.coverage == "no_data" and after.total.status == "no_data"
    assert (after.total.current, after.total.previous) == (0, 30)
    assert after.total.difference is None and after.total.p_value is None and not after.total.significant
    assert all(c.status == "no_data" and c.percent_change is None for c in after.by_category)
    before = stats.breakdown(data, TOWN, dt.date(2018, 1, 1), dt.date(2018, 12, 1))
    assert before.total.status == "no_data" and all(u.status == "no_data" for u in before.units)
    months = stats.trend(data, COUNTY, dt.date(2018, 11, 1), dt.date(2019, 2, 1))
    assert [b.coverage for b in months.series] == ["no_data", "partial", "covered"]
    pc = stats.period_coverage(data, resolve_scope(data, E1), Window(dt.date(2021, 1, 1), dt.date(2022, 1, 1)))
    assert pc.status == "no_data" and not pc.comparable
    assert pc.statement()[0] == "2021-01-01 – 2021-12-31 无数据（数据覆盖 2018-12-31 – 2020-09-09）"
    report = stats.coverage_report(data, "610300", "service", dt.date(2020, 1, 1), dt.date(2020, 6, 1))
    assert [(c.category, c.first_day, c.last_day) for c in report.by_category] == [
        ("service", dt.date(2020, 9, 9), dt.date(2020, 9, 9))
    ]
    assert report.window.coverage == "covered"


def test_comparison_with_category_filter_and_scopes(data):
    r = stats.compare_periods(data, EAST, *Y2020, categories="preventable,property")
    assert r.categories == ["preventable", "property"] and [c.category for c in r.by_category] == r.categories
    assert (r.total.current, r.total.previous) == (6, 9)  # E1: 4 property vs 9; E2: 2 preventable vs 0
    assert by_cat(r)["preventable"].percent_change is None
    grid = stats.compare_periods(data, E2, *Y2020, categories=["preventable"])
    assert grid.scope.level == "grid" and (grid.total.current, grid.total.previous) == (2, 0)
    county = stats.compare_periods(data, COUNTY, *Y2020)
    assert (county.total.current, county.total.previous) == (30, 17)  # was 18: the prior window is now 2019
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
        17,  # was 18: the prior window of 2020 is 2019 now, not [2018-12-31, 2020-01-01)
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
    assert (east.current, east.previous, east.z_score) == (23, 10, 3.267)
    assert east.rate_per_1000_households == 115.0 and town.total.current == 30
    # Units are BH-adjusted together: the oracle is scipy's BH over the hand-checked exact p-values.
    p_hand = [_binomial_two_sided(7, 14, 366 / 731), _binomial_two_sided(23, 33, 366 / 731)]
    assert [rows[WEST].p_value, east.p_value] == pytest.approx(p_hand, rel=1e-9)
    assert [rows[WEST].p_adjusted, east.p_adjusted] == pytest.approx(false_discovery_control(p_hand), rel=1e-9)
    # 23 vs 10 had |z| 3.267 > 3, "a real change" in the yoy breakdown; its exact p is 0.03 and 2020 is only
    # partly in the fixture's data: not flagged.
    assert 0.01 < east.p_value < 0.05 and not east.significant and east.status == "partial"
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
