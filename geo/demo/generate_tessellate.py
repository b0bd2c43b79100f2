# mypy: disable-error-code="attr-defined,arg-type,index,assignment,return-value,call-overload,str-bytes-safe"
# (the pandas and shapely stubs type row tuples and object arrays of geometries too loosely to check here)
"""Split a polygon into cells of given population shares: a capacity-constrained power diagram on samples."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import shapely
from numpy.typing import NDArray
from scipy.optimize import minimize

from geo.demo.generate_space import sample_adaptive

DEBUG = False
Array = NDArray[np.float64]
FieldFn = Callable[[Array, Array], tuple[Array, Array]]


def partition(
    parent: shapely.Geometry,
    urban_people: Array,
    rural_people: Array,
    field: FieldFn,
    rng: np.random.Generator,
    per_cell: int = 40,
    balance: bool = True,
) -> list[shapely.Geometry]:
    """Cells exactly covering parent, one per child, sized by the children's urban and rural people.

    field gives (urban, rural) people per area. Child i's share of the parent's mass is its share of the
    urban people times the urban mass plus its share of the rural people times the rural mass, so a
    street takes a slice of the town centre and a mountain township a slice of the slopes. List the
    children most urban first: seeds start where people are and the densest goes to child 0. Then
    Lloyd steps alternate with power-weight updates. The cells are unions of the samples' Voronoi cells,
    clipped to the parent, stray fragments merged into a neighbour, edges simplified keeping the
    coverage exact and the parent's outline untouched. balance=False skips the transport step (for
    splitting a small, evenly peopled community: Lloyd cells are then close enough).
    """
    n = len(urban_people)
    if n == 1:
        return [parent]
    x, y, sample_area = sample_adaptive(
        parent, int(np.clip(per_cell * n, 200, 4000)), lambda a, b: sum(field(a, b)), rng
    )
    pts = np.column_stack([x, y])
    if len(pts) < n:
        raise ValueError(f"parent too small for {n} cells")
    urban, rural = field(x, y)
    urban, rural = urban * sample_area, rural * sample_area
    want_urban, want_rural = _share(urban.sum(), urban_people), _share(rural.sum(), rural_people)
    labels = _allocate(pts, urban, rural, want_urban, want_rural, rng, balance)
    cells = shapely.voronoi_polygons(
        shapely.multipoints(pts),
        extend_to=shapely.box(*(np.array(parent.bounds) + [-1e3, -1e3, 1e3, 1e3])),
        ordered=True,
    )
    sample_cells = np.asarray(shapely.get_parts(cells))
    regions = np.array([shapely.coverage_union_all(sample_cells[labels == i]) for i in range(n)])
    regions = shapely.intersection(regions, parent)
    regions = _polygonal(regions)
    regions = _merge_fragments(regions)
    # Clipping and merging can leave edges that match only to within rounding: make them identical, so
    # that the simplifier sees a true coverage and moves shared edges together.
    regions = np.asarray(shapely.coverage_clean(regions, gap_width=0.0), dtype=object)
    # Simplify by about the typical sample spacing: smooths the lattice's zigzags (topology is kept).
    tolerance = 0.7 * float(np.sqrt(np.median(sample_area)))
    simplified = shapely.coverage_simplify(regions, tolerance, simplify_boundary=False)
    if shapely.is_valid(simplified).all() and not shapely.is_empty(simplified).any():
        regions = simplified
    return list(regions)


def _share(mass: float, people: Array) -> Array:
    people = np.asarray(people, dtype=float)
    return mass * people / people.sum() if people.sum() > 0 else np.zeros(len(people))


def _allocate(
    pts: Array,
    urban: Array,
    rural: Array,
    want_urban: Array,
    want_rural: Array,
    rng: np.random.Generator,
    balance: bool = True,
) -> NDArray[np.intp]:
    """Label each sample with a cell so that cell i holds want_urban[i] + want_rural[i] of the mass.

    Child i cares for the urban and rural mass in its own proportion α_i: its seed is drawn from, and its
    Lloyd centroid weighted by, α_i·urban + (1−α_i)·rural, so streets sit in town and townships on the
    slopes. The power weights then solve the semi-discrete transport problem (a concave maximisation,
    L-BFGS): plain fixed-point updates diverge when a county holds both 16,000/km² and 30/km².
    """
    n = len(want_urban)
    mass = urban + rural
    want = want_urban + want_rural
    want = want / want.sum() * mass.sum()
    alpha = np.divide(
        want_urban, want_urban + want_rural, out=np.full(n, 0.5), where=(want_urban + want_rural) > 0
    )
    affinity = alpha[None, :] * urban[:, None] + (1 - alpha[None, :]) * rural[:, None]  # (samples, children)
    affinity += 1e-12 * mass.max()
    x = pts / 1_000.0  # km: keeps the solver's numbers near 1
    seeds = np.empty((n, 2))
    for i in range(n):  # best of 8 candidates: the one farthest from the seeds placed so far
        cand = x[rng.choice(len(x), 8, p=affinity[:, i] / affinity[:, i].sum())]
        gap = ((cand[:, None, :] - seeds[None, :i, :]) ** 2).sum(axis=2).min(axis=1) if i else np.ones(8)
        seeds[i] = cand[np.argmax(gap)]
    for _ in range(3):
        labels = _nearest(x, seeds, np.zeros(n))
        seeds = _centroids(x, affinity[np.arange(len(x)), labels], labels, seeds)
    weights = _transport_weights(x, mass, seeds, want) if balance else np.zeros(n)
    labels = _nearest(x, seeds, weights)
    # Every cell needs a sample: an empty one takes the sample nearest its seed from the most populous cell.
    for i in np.flatnonzero(np.bincount(labels, minlength=n) == 0):
        donor = np.flatnonzero(labels == np.argmax(np.bincount(labels, minlength=n)))
        labels[donor[np.argmin(((x[donor] - seeds[i]) ** 2).sum(axis=1))]] = i
    if DEBUG:
        got = np.bincount(labels, mass, n)
        print(f"n={n} N={len(pts)} mass/target {np.round(np.sort(got / want)[[0, -1]], 2)}")
    return labels


def _transport_weights(x: Array, mass: Array, seeds: Array, want: Array) -> Array:
    """Power weights w maximising Σ_p m_p min_i(|p−c_i|² − w_i) + Σ_i w_i·want_i (gradient: want − mass)."""
    base = (x * x).sum(axis=1)[:, None] + (seeds * seeds).sum(axis=1)[None, :] - 2.0 * (x @ seeds.T)
    rows = np.arange(len(x))
    n = len(want)

    def negated(w: Array) -> tuple[float, Array]:
        dist = base - w
        labels = np.argmin(dist, axis=1)
        got = np.bincount(labels, mass, n)
        return -float((mass * dist[rows, labels]).sum() + (w * want).sum()), got - want

    # Stop once every cell is within 3 % of the smallest target: plenty for administrative areas.
    options = {"maxiter": 80, "gtol": 0.03 * float(want.min()), "ftol": 1e-12}
    result = minimize(negated, np.zeros(n), jac=True, method="L-BFGS-B", options=options)
    return np.asarray(result.x)


def _nearest(
    pts: NDArray[np.float64], seeds: NDArray[np.float64], weights: NDArray[np.float64]
) -> NDArray[np.intp]:
    """Each sample's power-nearest seed: argmin |p − c|² − w, with |p|² dropped (the same for every seed)."""
    return np.argmin((seeds * seeds).sum(axis=1) - weights - 2.0 * (pts @ seeds.T), axis=1)


def _centroids(
    pts: NDArray[np.float64], mass: NDArray[np.float64], labels: NDArray[np.intp], old: NDArray[np.float64]
) -> NDArray[np.float64]:
    n = len(old)
    total = np.bincount(labels, mass, n)
    cx = np.bincount(labels, mass * pts[:, 0], n)
    cy = np.bincount(labels, mass * pts[:, 1], n)
    new = old.copy()
    ok = total > 0
    new[ok, 0], new[ok, 1] = cx[ok] / total[ok], cy[ok] / total[ok]
    return new


def _polygonal(regions: NDArray[np.object_]) -> NDArray[np.object_]:
    """Drop the points and lines an intersection can leave on an edge; keep (Multi)Polygons."""
    out = []
    for geom in regions:
        parts = [p for p in shapely.get_parts(geom) if p.geom_type == "Polygon" and p.area > 0]
        out.append(shapely.multipolygons(parts) if len(parts) > 1 else (parts[0] if parts else geom))
    return np.array(out, dtype=object)


def _merge_fragments(regions: NDArray[np.object_]) -> NDArray[np.object_]:
    """Give each region's smaller detached parts to the neighbour they share the longest edge with."""
    regions = regions.copy()
    for i in range(len(regions)):
        parts = shapely.get_parts(regions[i])
        if len(parts) < 2:
            continue
        parts = sorted(parts, key=lambda p: -p.area)
        keep = [parts[0]]
        for part in parts[1:]:
            shared = shapely.length(shapely.intersection(part.boundary, shapely.boundary(regions)))
            shared[i] = 0.0
            j = int(np.argmax(shared))
            if shared[j] > 0:
                regions[j] = shapely.coverage_union(regions[j], part)
            else:
                keep.append(part)
        regions[i] = keep[0] if len(keep) == 1 else shapely.multipolygons(keep)
    return regions
