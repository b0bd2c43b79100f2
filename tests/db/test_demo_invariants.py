"""The loaded Baoji demo, checked in the database: a valid nested partition, plausible content, the seed figures."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.assignment import sql_rule as assign
from geo.demo import targets

pytestmark = pytest.mark.db

M2 = "ST_Area(ST_Transform({}, 32648))"  # square metres in the project's metric CRS


def scalar(conn, sql: str, **params):
    return conn.execute(text(sql), params).scalar()


@pytest.fixture(scope="module")
def conn(demo_db, engine):
    with engine.connect() as c:
        yield c


@pytest.mark.parametrize("table", ["admin_units", "grids", "compounds", "department_grids", "patrol_routes"])
def test_every_geometry_is_valid(conn, table):
    assert scalar(conn, f"SELECT count(*) FROM {table} WHERE NOT ST_IsValid(geom) OR ST_IsEmpty(geom)") == 0


def test_exactly_1537_grids_partition_the_1370_villages_and_communities(conn):
    assert scalar(conn, "SELECT count(*) FROM grids") == targets.GRIDS == 1537
    assert scalar(conn, "SELECT count(*) FROM admin_units WHERE level = 'community'") == 1370
    # Every village/community has grids numbered 001..k; every rural village exactly one.
    bad = scalar(
        conn,
        """SELECT count(*) FROM (
               SELECT c.code, c.urban, count(g.code) AS k,
                      bool_and(g.code LIKE c.code || '___') AS prefixed,
                      max(right(g.code, 3)::int) AS top
               FROM admin_units c LEFT JOIN grids g ON g.community_code = c.code
               WHERE c.level = 'community' GROUP BY c.code, c.urban) x
           WHERE k = 0 OR NOT prefixed OR top <> k OR (NOT urban AND k <> 1)""",
    )
    assert bad == 0
    assert scalar(conn, "SELECT count(*) FROM admin_units c WHERE level = 'community' AND urban") == 203
    # Urban flag by the statistical code: 0xx/1xx residents' committees, 2xx villages.
    assert (
        scalar(
            conn,
            "SELECT count(*) FROM admin_units WHERE level = 'community' "
            "AND urban <> (substr(code, 10, 3)::int < 200)",
        )
        == 0
    )


def test_grids_do_not_overlap(conn):
    overlaps = conn.execute(
        text(
            f"""SELECT a.code, b.code FROM grids a JOIN grids b
                ON a.code < b.code AND a.geom && b.geom AND ST_Relate(a.geom, b.geom, '2********')
                WHERE {M2.format("ST_Intersection(a.geom, b.geom)")} > 1"""
        )
    ).all()
    assert overlaps == []


@pytest.mark.parametrize(
    ("child", "parent", "child_fk"),
    [
        ("grids", "community", "community_code"),
        ("admin_units", "town", "parent_code"),
        ("admin_units", "county", "parent_code"),
    ],
)
def test_children_fill_their_parent_without_gaps_or_spill(conn, child, parent, child_fk):
    level = {"town": "community", "county": "town", "community": None}[parent]
    where = f"WHERE ch.level = '{level}'" if level else ""
    rows = conn.execute(
        text(
            f"""WITH u AS (SELECT ch.{child_fk} AS code, ST_Union(ch.geom) AS geom FROM {child} ch {where}
                           GROUP BY ch.{child_fk})
                SELECT p.code, {M2.format("ST_Difference(p.geom, u.geom)")} AS gap,
                       {M2.format("ST_Difference(u.geom, p.geom)")} AS spill
                FROM admin_units p JOIN u ON u.code = p.code WHERE p.level = :level"""
        ),
        {"level": parent},
    ).all()
    expected = {"community": 1370, "town": 120, "county": 12}[parent]
    assert len(rows) == expected
    assert [r for r in rows if r.gap > 1.0 or r.spill > 1.0] == []


def test_counties_fill_the_city(conn):
    row = conn.execute(
        text(
            f"""SELECT {M2.format("ST_SymDifference(c.geom, u.geom)")} AS diff, {M2.format("c.geom")} AS area
                FROM admin_units c, (SELECT ST_Union(geom) AS geom FROM admin_units WHERE level = 'county') u
                WHERE c.level = 'city'"""
        )
    ).one()
    assert row.diff < 1e-6 * row.area
    assert row.area / 1e6 == pytest.approx(targets.CITY_AREA_KM2, rel=0.01)


def test_streets_are_small_and_mountain_townships_large(conn):
    street, mountain = conn.execute(
        text(
            f"""SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY {M2.format("geom")} / 1e6)
                       FILTER (WHERE parent_code IN ('610302', '610303') AND substr(code, 7, 3)::int < 100),
                       percentile_cont(0.5) WITHIN GROUP (ORDER BY {M2.format("geom")} / 1e6)
                       FILTER (WHERE parent_code IN ('610330', '610331'))
                FROM admin_units WHERE level = 'town'"""
        )
    ).one()
    assert street < 30 and mountain > 150 and mountain > 8 * street


def test_people_add_up_level_by_level(conn):
    assert (
        scalar(
            conn,
            """SELECT count(*) FROM admin_units c JOIN (
               SELECT community_code, sum(population) p, sum(households) h FROM grids GROUP BY 1) g
           ON g.community_code = c.code WHERE (c.population, c.households) IS DISTINCT FROM (g.p, g.h)""",
        )
        == 0
    )
    assert (
        scalar(
            conn,
            """SELECT count(*) FROM admin_units p JOIN (
               SELECT parent_code, sum(population) s, sum(households) h FROM admin_units
               WHERE level IN ('community', 'town', 'county') GROUP BY 1) c
           ON c.parent_code = p.code WHERE (p.population, p.households) IS DISTINCT FROM (c.s, c.h)""",
        )
        == 0
    )
    assert 2_500_000 < scalar(conn, "SELECT population FROM admin_units WHERE level = 'city'") < 4_000_000


def test_generated_rows_are_flagged_synthetic_and_real_outlines_are_not(conn):
    assert scalar(conn, "SELECT bool_and(NOT synthetic) FROM admin_units WHERE level IN ('city', 'county')")
    assert scalar(conn, "SELECT bool_and(synthetic) FROM admin_units WHERE level IN ('town', 'community', 'zone')")
    for table in ("grids", "compounds", "incidents", "officers", "patrol_routes", "department_grids"):
        assert scalar(conn, f"SELECT bool_and(synthetic) FROM {table}"), table


def test_hi_tech_zone_overlaps_weibin_and_chencang(conn):
    row = conn.execute(
        text(
            """SELECT z.parent_code, ST_Intersects(z.geom, w.geom) AS weibin, ST_Intersects(z.geom, c.geom) AS chencang
               FROM admin_units z, admin_units w, admin_units c
               WHERE z.level = 'zone' AND w.code = '610302' AND c.code = '610304'"""
        )
    ).one()
    assert tuple(row) == ("610300", True, True)


def test_compounds_sized_placed_and_assigned_like_ingest(conn, engine):
    assert (
        scalar(
            conn,
            "SELECT count(*) FROM compounds WHERE renovation_status = 'renovated' "
            "AND (category <> 'three_no' OR renovated_year NOT IN (2019, 2020))",
        )
        == 0
    )
    assert 300 <= scalar(conn, "SELECT count(*) FROM compounds WHERE renovation_status <> 'renovated'") <= 400
    areas = conn.execute(text(f"SELECT min({M2.format('geom')}), max({M2.format('geom')}) FROM compounds")).one()
    assert areas[0] >= 5_000 and areas[1] <= 50_000
    assert (
        scalar(
            conn,
            f"""SELECT count(*) FROM compounds k JOIN admin_units c ON c.code = k.community_code
            WHERE {M2.format("ST_Difference(k.geom, c.geom)")} > 1""",
        )
        == 0
    )
    assert (
        scalar(
            conn,
            "SELECT count(*) FROM compounds a JOIN compounds b ON a.id < b.id "
            "AND ST_Relate(a.geom, b.geom, '2********')",
        )
        == 0
    )
    urban_share = scalar(
        conn, "SELECT avg((left(community_code, 6) IN ('610302', '610303', '610304'))::int) FROM compounds"
    )
    assert urban_share > 0.7
    straddling = scalar(conn, "SELECT count(*) FROM compounds WHERE (grid_shares->1->>'share')::float > 0.05")
    assert straddling >= 50
    # grid_code/grid_shares are exactly what geo.assignment computes (re-running it changes nothing).
    with engine.connect() as other:
        assert assign.assign_compounds(Session(bind=other)) == 0
        other.rollback()


def test_incidents_carry_the_ingest_assignment(conn):
    mismatched = scalar(
        conn,
        f"""WITH hit AS ({assign.grid_hits_sql("incidents", "id")}),
                 comp AS ({assign.compound_hits_sql("incidents", "id")})
            SELECT count(*) FROM incidents i LEFT JOIN hit ON hit.key = i.id LEFT JOIN comp ON comp.key = i.id
            WHERE (i.grid_code, i.community_code, i.town_code, i.county_code, i.compound_id, i.outside_jurisdiction)
                  IS DISTINCT FROM (hit.code, hit.community_code, hit.town_code, hit.county_code, comp.id,
                                    hit.code IS NULL)""",
    )
    assert mismatched == 0
    outside = conn.execute(
        text("""SELECT count(*), bool_and(NOT ST_Intersects(i.geom, c.geom)) FROM incidents i, admin_units c
                WHERE c.level = 'city' AND i.outside_jurisdiction""")
    ).one()
    assert 1 <= outside[0] <= 50 and outside[1]


def test_incidents_volume_clustering_and_timing_look_real(conn):
    per_year = dict(
        conn.execute(
            text(
                "SELECT extract(year FROM occurred_at AT TIME ZONE 'Asia/Shanghai')::int, "
                "count(*) FROM incidents GROUP BY 1"
            )
        ).all()
    )
    assert set(per_year) == {2019, 2020} and 100_000 <= per_year[2019] <= 150_000
    night = scalar(
        conn,
        """SELECT avg((extract(hour FROM occurred_at AT TIME ZONE 'Asia/Shanghai') >= 20
                   OR extract(hour FROM occurred_at AT TIME ZONE 'Asia/Shanghai') < 6)::int)
           FROM incidents WHERE category = :c""",
        c="property",
    )
    office = scalar(
        conn,
        """SELECT avg((extract(hour FROM occurred_at AT TIME ZONE 'Asia/Shanghai') >= 20
                   OR extract(hour FROM occurred_at AT TIME ZONE 'Asia/Shanghai') < 6)::int)
           FROM incidents WHERE category = 'service'""",
    )
    assert night > 0.4 > 0.15 > office
    # Hot spots: the busiest 5 % of grids hold a far larger share of crime than of people.
    share = scalar(
        conn,
        """WITH n AS (SELECT g.code, g.population, count(i.id) AS k FROM grids g
                      LEFT JOIN incidents i ON i.grid_code = g.code AND i.category IN ('preventable', 'property')
                      GROUP BY g.code, g.population),
                r AS (SELECT k, population, row_number() OVER (ORDER BY k DESC) AS rn FROM n)
           SELECT sum(k) FILTER (WHERE rn <= 77)::float / sum(k) FROM r""",
    )
    assert share > 0.25
    lockdown, autumn = conn.execute(
        text(
            """SELECT count(*) FILTER (WHERE occurred_at >= '2020-02-01 00:00+08' AND occurred_at < '2020-03-01 00:00+08'),
                      count(*) FILTER (WHERE occurred_at >= '2020-10-01 00:00+08' AND occurred_at < '2020-10-30 00:00+08')
               FROM incidents WHERE category = 'property'"""
        )
    ).one()
    assert lockdown < 0.7 * autumn  # Shaanxi's 2020 lockdown emptied the streets


def test_officers_patrol_their_communities(conn):
    assert scalar(conn, "SELECT count(*) FROM officers") == targets.OFFICERS
    assert scalar(conn, "SELECT count(DISTINCT community_code) FROM officers") == targets.OFFICERS
    urban = scalar(
        conn, "SELECT avg(c.urban::int) FROM officers o JOIN admin_units c ON c.code = o.community_code"
    )
    assert urban > 0.8
    far = scalar(
        conn,
        """SELECT count(*) FROM patrol_routes r JOIN admin_units c ON c.code = r.community_code
           WHERE NOT ST_Covers(ST_Buffer(c.geom::geography, 300)::geometry, r.geom)""",
    )
    assert far == 0
    stops = conn.execute(
        text("""SELECT min((s->>'dwell_minutes')::int), max((s->>'dwell_minutes')::int), min(jsonb_array_length(r.planned_stops))
                FROM patrol_routes r, jsonb_array_elements(r.planned_stops) s""")
    ).one()
    assert (stops[0], stops[1]) == (10, 15) and stops[2] >= 1


def test_three_departments_or_more_bring_their_own_grids(conn):
    rows = conn.execute(text("SELECT department, count(*) FROM department_grids GROUP BY 1")).all()
    assert len([d for d, n in rows if n >= 100]) >= 3


def test_seed_figures_computed_from_the_database(conn):
    results = targets.run_checks(conn)
    assert [(r.check.key, r.value, r.expected) for r in results if not r.ok] == []
