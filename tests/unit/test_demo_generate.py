"""The demo generator's parts, without a database: exact counts, partitions, timing, CSV for COPY."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

from geo.demo.generate_incidents import count_2020
from geo.demo.generate_partition import grid_counts
from geo.demo.generate_people import short_name
from geo.demo.generate_tessellate import partition
from geo.demo.generate_timing import day_weights, lifecycle, occurrence_times
from geo.demo.load import csv_text


def test_2020_counts_give_the_published_percentages_exactly():
    assert count_2020(14_000, -52.7) == 6_622
    assert count_2020(16_000, -32.3) == 10_832
    with pytest.raises(ValueError):
        count_2020(7, -52.7)  # no integer count of 7 gives −52.7 %


def test_grid_counts_one_per_village_rest_by_population():
    pop = pd.Series([9_000, 6_000, 3_000, 1_500, 1_200], index=list("abcde"))
    urban = pd.Series([True, True, True, False, False], index=pop.index)
    k = grid_counts(pop, urban, 9)
    assert k.sum() == 9 and k["d"] == k["e"] == 1 and k["a"] >= k["b"] >= k["c"] >= 1


def _field(x, y):
    urban = 5_000.0 * np.exp(-((x - 2_000) ** 2 + (y - 2_000) ** 2) / (2 * 800.0**2))
    return urban, np.full(np.shape(x), 50.0)


def test_partition_covers_the_parent_exactly_and_follows_the_people():
    parent = shapely.Polygon([(0, 0), (10_000, 0), (10_000, 6_000), (4_000, 9_000), (0, 6_000)])
    urban = np.array([30_000.0, 0, 0, 0])
    rural = np.array([0.0, 1_000, 1_000, 2_000])
    cells = partition(parent, urban, rural, _field, np.random.default_rng(3))
    union = shapely.union_all(cells)
    assert shapely.symmetric_difference(union, parent).area < 1e-6
    assert sum(c.area for c in cells) == pytest.approx(parent.area, rel=1e-9)  # no overlaps
    assert all(c.is_valid and c.area > 0 for c in cells)
    # The urban child holds the town centre; the child with twice the rural people gets more land.
    assert cells[0].contains(shapely.Point(2_000, 2_000))
    assert cells[3].area > 1.3 * max(cells[1].area, cells[2].area)
    again = partition(parent, urban, rural, _field, np.random.default_rng(3))
    assert all(a.equals_exact(b, 0) for a, b in zip(cells, again, strict=True))


def test_lockdown_and_festival_shape_the_year():
    w = day_weights("property", 2020)
    assert w.sum() == pytest.approx(1.0) and len(w) == 366
    feb, oct_ = w[31:60].mean(), w[274:305].mean()
    assert feb < 0.6 * oct_


def test_times_are_in_the_local_year_and_lifecycle_is_consistent():
    rng = np.random.default_rng(1)
    t = occurrence_times("property", 2019, np.repeat(np.arange(50), 20), rng)
    local = t + np.timedelta64(8, "h")
    assert (local >= np.datetime64("2019-01-01")).all() and (local < np.datetime64("2020-01-01")).all()
    life = lifecycle("dispute", t, rng, resolved=np.arange(len(t)) % 3 != 0)
    resolved = ~np.isnat(life["resolved_at"])
    assert (resolved == np.isin(life["status"], ["resolved", "closed"])).all()
    assert (~np.isnat(life["mediated_at"][resolved])).all()
    assert (life["resolved_at"][resolved] > life["mediated_at"][resolved]).all()


def test_csv_for_copy_quotes_nulls_and_times():
    frame = pd.DataFrame(
        {
            "i": pd.Series([1, None], dtype="Int64"),
            "s": ['a,"b"', None],
            "b": [True, False],
            "t": np.array(["2020-01-01T00:00:00", "NaT"], dtype="datetime64[s]"),
        }
    )
    assert csv_text(frame) == '1,"a,""b""",t,2020-01-01T00:00:00+00\n,,f,\n'


def test_short_names():
    assert short_name("召光村委会") == "召光村"
    assert short_name("杨家沟村村民委员会") == "杨家沟村"
    assert short_name("东街社区居民委员会") == "东街社区"
    assert short_name("火炬路社区居委会") == "火炬路社区"
