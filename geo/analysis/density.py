"""Kernel density of incidents on a metric raster (UTM 48N), bandwidth in metres, and its display image.

The density is computed where distances are true: points are binned to square cells in EPSG:32648
(bandwidth/4 wide, coarser only to stay under max_cells), then smoothed with a Gaussian of standard
deviation = the bandwidth (scipy.ndimage.gaussian_filter, sigma = bandwidth / cell). Each incident's
kernel integrates to 1, so the surface is incidents per km² and integrates to the count. (Binning to
the cell centre moves a point at most half a cell, an eighth of the bandwidth.)

Leaflet stretches an ImageOverlay linearly in Web Mercator between its corner coordinates, so the display
image is a Web Mercator pixel grid over the raster's extent: each pixel centre is taken back to lon/lat
(and from GCJ-02 to WGS84 when the base map is GCJ-02), to UTM, and the density is sampled there
bilinearly. That is an exact warp (to the interpolation of a 16-pixel control grid, ≪ 1 m), unlike
stretching the UTM raster over lon/lat bounds, which would be off by up to ~1% of the extent.
"""

from __future__ import annotations

import base64
import math
import struct
import zlib
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from geo.crs import gcj02_to_wgs84, wgs84_to_gcj02
from geo.maps.geometry import metric_to_lonlat, xy_to_metric

MAX_CELLS = 2_000_000
EARTH_R = 6378137.0  # Web Mercator sphere
CONTROL_STEP = 16  # display pixels between exactly transformed control points


@dataclass(frozen=True)
class DensityRaster:
    """Incidents per km² on square cells; row 0 is the southern edge, y0/x0 the lower-left corner (metres)."""

    values: NDArray[np.float32]
    x0: float
    y0: float
    cell: float
    bandwidth_m: float

    @property
    def shape(self) -> tuple[int, int]:
        return self.values.shape  # type: ignore[return-value]

    def cell_centres(self, flat: NDArray[np.int64]) -> tuple[NDArray, NDArray]:
        row, col = np.divmod(flat, self.shape[1])
        return self.x0 + (col + 0.5) * self.cell, self.y0 + (row + 0.5) * self.cell

    def cell_of(self, xy: NDArray[np.float64]) -> NDArray[np.int64]:
        """Flat cell index of each metric point, −1 outside the raster."""
        ny, nx = self.shape
        col = np.floor((xy[:, 0] - self.x0) / self.cell).astype(np.int64)
        row = np.floor((xy[:, 1] - self.y0) / self.cell).astype(np.int64)
        ok = (col >= 0) & (col < nx) & (row >= 0) & (row < ny)
        return np.where(ok, row * nx + col, -1)


def lonlat_to_metric(lonlat: NDArray[np.float64]) -> NDArray[np.float64]:
    if len(lonlat) == 0:
        return np.empty((0, 2))
    x, y = xy_to_metric(lonlat[:, 0], lonlat[:, 1])
    return np.column_stack([x, y])


def kde(
    xy: NDArray[np.float64],
    bounds: tuple[float, float, float, float],
    bandwidth_m: float,
    max_cells: int = MAX_CELLS,
) -> DensityRaster:
    """Gaussian kernel density (per km²) of metric points over bounds padded by 3 bandwidths."""
    if bandwidth_m <= 0:
        raise ValueError("the bandwidth must be positive (metres)")
    pad = 3.0 * bandwidth_m
    xmin, ymin, xmax, ymax = bounds[0] - pad, bounds[1] - pad, bounds[2] + pad, bounds[3] + pad
    cell = max(bandwidth_m / 4.0, math.sqrt((xmax - xmin) * (ymax - ymin) / max_cells))
    nx, ny = max(1, math.ceil((xmax - xmin) / cell)), max(1, math.ceil((ymax - ymin) / cell))
    raster = DensityRaster(np.zeros((ny, nx), np.float32), xmin, ymin, cell, bandwidth_m)
    flat = raster.cell_of(xy) if len(xy) else np.empty(0, np.int64)
    counts = np.bincount(flat[flat >= 0], minlength=nx * ny).reshape(ny, nx).astype(np.float32)
    smooth = ndimage.gaussian_filter(counts, sigma=bandwidth_m / cell, mode="constant", truncate=4.0)
    values = (np.maximum(smooth, 0) * (1e6 / cell**2)).astype(np.float32)
    return DensityRaster(values, xmin, ymin, cell, bandwidth_m)


def _merc(lon: NDArray, lat: NDArray) -> tuple[NDArray, NDArray]:
    lon, lat = np.asarray(lon, float), np.asarray(lat, float)
    return EARTH_R * np.radians(lon), EARTH_R * np.log(np.tan(np.pi / 4 + np.radians(lat) / 2))


def _unmerc(x: NDArray, y: NDArray) -> tuple[NDArray, NDArray]:
    return np.degrees(x / EARTH_R), np.degrees(np.arctan(np.sinh(y / EARTH_R)))


def _linear_weights(n_out: int, n_ctrl: int) -> NDArray[np.float64]:
    """(n_out, n_ctrl) weights interpolating control values (every CONTROL_STEP pixels) to each pixel."""
    pos = np.arange(n_out) / CONTROL_STEP
    k = np.minimum(np.floor(pos).astype(np.int64), n_ctrl - 2)
    frac = pos - k
    weights = np.zeros((n_out, n_ctrl))
    weights[np.arange(n_out), k] = 1.0 - frac
    weights[np.arange(n_out), k + 1] = frac
    return weights


def _bilinear(
    values: NDArray[np.float32], fi: NDArray[np.float64], fj: NDArray[np.float64]
) -> NDArray[np.float32]:
    """values sampled at fractional (row, col) positions, bilinearly; 0 outside the raster."""
    ny, nx = values.shape
    i0, j0 = np.floor(fi).astype(np.int64), np.floor(fj).astype(np.int64)
    di, dj = (fi - i0).astype(np.float32), (fj - j0).astype(np.float32)
    padded = np.pad(values, 1)  # a zero border: positions just outside blend towards 0
    i0, j0 = np.clip(i0 + 1, 0, ny), np.clip(j0 + 1, 0, nx)
    top = padded[i0, j0] * (1 - dj) + padded[i0, j0 + 1] * dj
    bottom = padded[i0 + 1, j0] * (1 - dj) + padded[i0 + 1, j0 + 1] * dj
    out = top * (1 - di) + bottom * di
    outside = (fi < -1) | (fi > ny) | (fj < -1) | (fj > nx)
    out[outside] = 0.0
    return out.astype(np.float32, copy=False)


def display_grid(
    raster: DensityRaster, gcj02: bool = False, max_px: int = 1000
) -> tuple[NDArray[np.float32], list[list[float]]]:
    """Density sampled on a Web Mercator pixel grid (row 0 north) and its [[south, west], [north, east]]."""
    ny, nx = raster.shape
    # The raster's outline (edges sampled, since UTM lines bend slightly in lon/lat), in display lon/lat.
    t = np.linspace(0, 1, 33)
    ex = np.concatenate([t, np.ones_like(t), t[::-1], np.zeros_like(t)]) * nx * raster.cell + raster.x0
    ey = np.concatenate([np.zeros_like(t), t, np.ones_like(t), t[::-1]]) * ny * raster.cell + raster.y0
    lon, lat = metric_to_lonlat(ex, ey)
    if gcj02:
        lon, lat = wgs84_to_gcj02(lon, lat)
    mx, my = _merc(lon, lat)
    x1, x2, y1, y2 = mx.min(), mx.max(), my.min(), my.max()
    ground = (x2 - x1) * math.cos(math.radians(float(np.mean(lat))))  # Mercator metres → ground metres
    width = int(min(max_px, max(64, math.ceil(ground / raster.cell))))
    height = max(1, int(round(width * (y2 - y1) / (x2 - x1))))
    # Exact transforms on a control grid, bilinear in between.
    cols = np.arange(0, width + CONTROL_STEP, CONTROL_STEP, dtype=float)
    rows = np.arange(0, height + CONTROL_STEP, CONTROL_STEP, dtype=float)
    cc, rr = np.meshgrid(cols, rows)
    clon, clat = _unmerc(x1 + (cc + 0.5) / width * (x2 - x1), y2 - (rr + 0.5) / height * (y2 - y1))
    if gcj02:
        clon, clat = gcj02_to_wgs84(clon.ravel(), clat.ravel())
    cx, cy = xy_to_metric(np.ravel(clon), np.ravel(clat))
    ci = (np.reshape(cy, cc.shape) - raster.y0) / raster.cell - 0.5  # fractional raster row
    cj = (np.reshape(cx, cc.shape) - raster.x0) / raster.cell - 0.5
    # Bilinear between control points is separable: two small matrix products instead of a per-pixel spline.
    wr, wc = _linear_weights(height, len(rows)), _linear_weights(width, len(cols))
    image = _bilinear(raster.values, wr @ ci @ wc.T, wr @ cj @ wc.T)
    s_lon, s_lat = _unmerc(np.array([x1, x2]), np.array([y1, y2]))
    return image.astype(np.float32), [[float(s_lat[0]), float(s_lon[0])], [float(s_lat[1]), float(s_lon[1])]]


def colourise(image: NDArray[np.float32], vmax: float, lut: NDArray[np.uint8], floor: float) -> NDArray[np.uint8]:
    """RGBA pixels: lut colours on a square-root 0..vmax scale, transparent below floor, denser more opaque.

    Incident density spans orders of magnitude (a market street against a mountain village): on a linear
    scale only the urban peaks would show at city zoom. The legend states the scale.
    """
    t = np.sqrt(np.clip(image / vmax, 0.0, 1.0)) if vmax > 0 else np.zeros_like(image)
    rgba = lut[(t * (len(lut) - 1)).astype(np.int64)].copy()
    alpha = np.where(image >= floor, 100 + 145 * t, 0)
    rgba[..., 3] = alpha.astype(np.uint8)
    return rgba


def png_data_url(rgba: NDArray[np.uint8]) -> str:
    """An RGBA image (row 0 on top) as a data:image/png URL (zlib level 3: a few % larger than 9, ~5× faster)."""
    height, width, _ = rgba.shape
    rows = np.concatenate([np.zeros((height, 1), np.uint8), rgba.reshape(height, width * 4)], axis=1)

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack("!I", len(data)) + tag + data + struct.pack("!I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    png = b"".join(
        [
            b"\x89PNG\r\n\x1a\n",
            chunk(b"IHDR", struct.pack("!2I5B", width, height, 8, 6, 0, 0, 0)),
            chunk(b"IDAT", zlib.compress(rows.tobytes(), 3)),
            chunk(b"IEND", b""),
        ]
    )
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
