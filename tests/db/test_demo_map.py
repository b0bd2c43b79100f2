"""A picture of the loaded demo (counties, grids, compounds), kept as tests/artifacts/demo_map.png."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest

pytestmark = pytest.mark.db
ARTIFACT = Path(__file__).resolve().parents[1] / "artifacts" / "demo_map.png"
CENTRE = (107.0, 34.27, 107.45, 34.47)  # the central city along the Wei


def test_render_counties_and_grids(demo_db, engine):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with engine.connect() as conn:
        units = gpd.read_postgis("SELECT code, level, geom FROM admin_units", conn, geom_col="geom")
        grids = gpd.read_postgis("SELECT code, geom FROM grids", conn, geom_col="geom")
        compounds = gpd.read_postgis("SELECT renovation_status, geom FROM compounds", conn, geom_col="geom")
    city = units[units.level == "city"].geometry.iloc[0]
    # Baoji's outline fills well under 3/4 of its bounding box; a generated rectangle would fill all of it.
    minx, miny, maxx, maxy = city.bounds
    assert city.area / ((maxx - minx) * (maxy - miny)) < 0.75
    fig, axes = plt.subplots(1, 2, figsize=(18, 9), gridspec_kw={"width_ratios": [1, 1.4]})
    for ax, box in zip(axes, (None, CENTRE), strict=True):
        grids.boundary.plot(ax=ax, color="#9aa", linewidth=0.25)
        units[units.level == "community"].boundary.plot(ax=ax, color="#5a8", linewidth=0.4)
        units[units.level == "town"].boundary.plot(ax=ax, color="#36c", linewidth=0.7)
        units[units.level == "zone"].plot(ax=ax, color="orange", alpha=0.25)
        units[units.level == "county"].boundary.plot(ax=ax, color="black", linewidth=1.4)
        if box:
            compounds.plot(ax=ax, column="renovation_status", cmap="coolwarm", markersize=1)
            ax.set_xlim(box[0], box[2])
            ax.set_ylim(box[1], box[3])
        ax.set_aspect(1 / 0.825)  # cos(34.4°): degrees of longitude are shorter than degrees of latitude
    axes[0].set_title("Baoji demo: 12 counties, 120 towns, 1,370 villages/communities, 1,537 grids")
    axes[1].set_title("central city: grids, the hi-tech zone (orange), old compounds")
    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(ARTIFACT, dpi=80, bbox_inches="tight")
    plt.close(fig)
    assert ARTIFACT.stat().st_size > 50_000
