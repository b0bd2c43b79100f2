# mypy: disable-error-code="attr-defined,arg-type,index,assignment,return-value,call-overload,str-bytes-safe"
# (the pandas and shapely stubs type row tuples and object arrays of geometries too loosely to check here)
"""The demo's working plane (a local metric projection) and its population-density field over Baoji."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray

# Generation works on a local equirectangular plane: an affine map, so going back to lon/lat restores the
# real county outlines to float precision (a UTM round trip would move them by ~1e-9°). Within Baoji's
# 1.5° of latitude its distances are within ±1 % of true; the database measures in EPSG:32648 anyway.
LON0, LAT0 = 107.2, 34.4
M_PER_DEG_LAT = 110_950.0
M_PER_DEG_LON = 111_320.0 * float(np.cos(np.radians(LAT0)))

Array = NDArray[np.float64]


def to_plane(geom: shapely.Geometry) -> shapely.Geometry:
    """lon/lat geometry (or array) → plane metres."""
    return shapely.transform(geom, lambda c: np.column_stack(xy_from_lonlat(c[:, 0], c[:, 1])))


def to_lonlat(geom: shapely.Geometry) -> shapely.Geometry:
    """plane metres geometry (or array) → lon/lat."""
    return shapely.transform(geom, lambda c: np.column_stack(lonlat_from_xy(c[:, 0], c[:, 1])))


def xy_from_lonlat(lon: Array, lat: Array) -> tuple[Array, Array]:
    return (np.asarray(lon) - LON0) * M_PER_DEG_LON, (np.asarray(lat) - LAT0) * M_PER_DEG_LAT


def lonlat_from_xy(x: Array, y: Array) -> tuple[Array, Array]:
    return np.asarray(x) / M_PER_DEG_LON + LON0, np.asarray(y) / M_PER_DEG_LAT + LAT0


@dataclass(frozen=True)
class Centre:
    """An urban centre: a bump of the density field (people per km² at its peak, spread in metres)."""

    name: str
    lon: float
    lat: float
    peak: float
    sigma_m: float


# The central city strings along the Wei river (渭河) from 陈仓 in the west to 高新区 in the east, both
# banks; each county seat is a smaller bump. Approximate WGS84 positions of the real places.
CENTRES: tuple[Centre, ...] = (
    Centre("宝鸡火车站 Baoji station area", 107.140, 34.362, 16_000, 1_400),
    Centre("经二路 Jing'er Road", 107.158, 34.368, 14_000, 1_600),
    Centre("金台 Jintai", 107.150, 34.385, 11_000, 1_800),
    Centre("十里铺 Shilipu", 107.200, 34.372, 9_000, 1_800),
    Centre("姜谭 Jiangtan", 107.195, 34.345, 8_000, 1_800),
    Centre("清姜 Qingjiang", 107.110, 34.345, 7_000, 1_500),
    Centre("卧龙寺 Wolongsi", 107.085, 34.372, 6_000, 1_500),
    Centre("高新区 Hi-tech zone", 107.260, 34.350, 6_000, 2_400),
    Centre("虢镇 Guozhen (陈仓)", 107.372, 34.370, 7_000, 1_800),
    Centre("凤翔 Fengxiang", 107.395, 34.522, 6_000, 1_700),
    Centre("岐山 Qishan", 107.622, 34.444, 5_500, 1_600),
    Centre("扶风 Fufeng", 107.895, 34.373, 5_000, 1_500),
    Centre("眉县 Meixian", 107.750, 34.275, 5_000, 1_500),
    Centre("陇县 Longxian", 106.860, 34.893, 4_500, 1_400),
    Centre("千阳 Qianyang", 107.133, 34.642, 4_000, 1_200),
    Centre("麟游 Linyou", 107.792, 34.678, 3_500, 1_100),
    Centre("凤县 Fengxian", 106.523, 33.912, 3_500, 1_100),
    Centre("太白 Taibai", 107.318, 34.060, 3_000, 1_000),
)

# Railway stations and bus stations: incident hot spots (name, lon, lat).
STATIONS: tuple[tuple[str, float, float], ...] = (
    ("宝鸡站", 107.137, 34.361),
    ("宝鸡南站", 107.238, 34.339),
    ("宝鸡汽车站", 107.152, 34.366),
    ("虢镇站", 107.366, 34.366),
)

# Valleys where villages are denser than on the slopes: polylines (lon, lat) with a half-width in metres.
_VALLEYS: tuple[tuple[tuple[tuple[float, float], ...], float, float], ...] = (
    (
        ((106.55, 34.32), (106.85, 34.33), (107.05, 34.36), (107.30, 34.36), (107.60, 34.31), (108.10, 34.26)),
        3_000,
        260,
    ),
    (((106.80, 34.95), (106.95, 34.85), (107.13, 34.64), (107.30, 34.42)), 3_500, 180),
    (((106.40, 33.95), (106.52, 33.91), (106.75, 33.98)), 2_000, 60),
    (((107.20, 34.05), (107.32, 34.06), (107.50, 34.10)), 2_000, 50),
)


class Density:
    """People per km² at plane points, as (urban, rural) parts: towns; mountains ~30, the 关中 plain ~350."""

    def __init__(self) -> None:
        cx, cy = xy_from_lonlat(np.array([c.lon for c in CENTRES]), np.array([c.lat for c in CENTRES]))
        self._centres = np.column_stack([cx, cy])
        self._peak = np.array([c.peak for c in CENTRES])
        self._sigma = np.array([c.sigma_m for c in CENTRES])
        self._valleys = []
        for line, half, people in _VALLEYS:
            vx, vy = xy_from_lonlat(*np.array(line).T)
            self._valleys.append((np.column_stack([vx, vy]), half, people))
        # The loess plain north of the Wei, 凤翔–岐山–扶风, softly edged.
        px, py = xy_from_lonlat(np.array([107.25, 108.2]), np.array([34.25, 34.60]))
        self._plain = (px[0], py[0], px[1], py[1])

    def components(self, x: Array, y: Array) -> tuple[Array, Array]:
        """(urban, rural) people per km² at the points."""
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        rural = np.full(x.shape, 30.0)
        x0, y0, x1, y1 = self._plain
        d_plain = np.hypot(np.maximum(np.maximum(x0 - x, x - x1), 0), np.maximum(np.maximum(y0 - y, y - y1), 0))
        rural += 320.0 * np.exp(-((d_plain / 6_000.0) ** 2))
        for line, half, people in self._valleys:
            rural += people * np.exp(-((_distance_to_polyline(x, y, line) / half) ** 2))
        d2 = (x[:, None] - self._centres[:, 0]) ** 2 + (y[:, None] - self._centres[:, 1]) ** 2
        # Towns end: the bump is cut at ~3σ, so no "urban" people are spread thinly over the mountains.
        bump = np.maximum(np.exp(-d2 / (2 * self._sigma**2)) - 0.01, 0.0)
        urban = (self._peak * bump).sum(axis=1)
        return urban, rural

    def __call__(self, x: Array, y: Array) -> Array:
        urban, rural = self.components(x, y)
        return urban + rural


def _distance_to_polyline(x: Array, y: Array, line: Array) -> Array:
    """Distance from each point to a polyline, in numpy (segment by segment)."""
    best = np.full(x.shape, np.inf)
    for (ax, ay), (bx, by) in zip(line[:-1], line[1:], strict=True):
        dx, dy = bx - ax, by - ay
        t = np.clip(((x - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy), 0.0, 1.0)
        best = np.minimum(best, np.hypot(x - ax - t * dx, y - ay - t * dy))
    return best


def sample_in(geom: shapely.Geometry, n: int, rng: np.random.Generator) -> tuple[Array, Array]:
    """About n points spread evenly (jittered lattice) inside geom; at least 3 when geom is not empty."""
    minx, miny, maxx, maxy = geom.bounds
    area = geom.area
    shapely.prepare(geom)
    for factor in (1.0, 0.5, 0.25, 0.1, 0.03):
        step = float(np.sqrt(area / max(n, 1))) * factor
        gx = np.arange(minx + step / 2, maxx, step)
        gy = np.arange(miny + step / 2, maxy, step)
        xx, yy = np.meshgrid(gx, gy)
        xx = xx.ravel() + rng.uniform(-0.4, 0.4, xx.size) * step
        yy = yy.ravel() + rng.uniform(-0.4, 0.4, yy.size) * step
        keep = shapely.contains_xy(geom, xx, yy)
        if keep.sum() >= max(3, n // 2):
            return xx[keep], yy[keep]
    raise ValueError("cannot sample inside a degenerate polygon")


def sample_adaptive(
    geom: shapely.Geometry,
    n: int,
    density: Callable[[Array, Array], Array] | None,
    rng: np.random.Generator,
    levels: int = 2,
) -> tuple[Array, Array, Array]:
    """About n lattice samples inside geom, refined 3×3 where one sample would hold too many people.

    Returns x, y and the area each sample stands for, so density × area is its share of the people.
    Dense town centres thus get fine samples even when the parent is a whole county.
    """
    x, y = sample_in(geom, n, rng)
    step = float(np.sqrt(geom.area / max(len(x), 1)))
    area = np.full(len(x), geom.area / len(x))
    if density is None:
        return x, y, area
    for _ in range(levels):
        mass = density(x, y) * area
        heavy = mass > 4.0 * mass.mean()
        if not heavy.any():
            break
        step /= 3.0
        off = np.array([-1.0, 0.0, 1.0]) * step
        dx, dy = np.meshgrid(off, off)
        fx = (x[heavy][:, None] + dx.ravel()).ravel() + rng.uniform(-0.3, 0.3, heavy.sum() * 9) * step
        fy = (y[heavy][:, None] + dy.ravel()).ravel() + rng.uniform(-0.3, 0.3, heavy.sum() * 9) * step
        inside = shapely.contains_xy(geom, fx, fy)
        fa = np.repeat(area[heavy] / 9.0, 9)
        x, y = np.concatenate([x[~heavy], fx[inside]]), np.concatenate([y[~heavy], fy[inside]])
        area = np.concatenate([area[~heavy], fa[inside]])
    return x, y, area
