"""The incident pipeline's types: what a reader hands the checks, the problems found, progress reports."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

# Columns an incident may carry besides its position; anything else is ignored with a warning.
PROPERTIES = (
    "external_id",
    "category",
    "subcategory",
    "status",
    "occurred_at",
    "reported_at",
    "mediated_at",
    "resolved_at",
    "description",
)

# The properties of a stored incident, as every read gives them (geo.incidents.queries) and as a small write
# returns them for its audit row (geo.incidents.upsert).
STORED_PROPERTIES = (
    "id", "external_id", "category", "subcategory", "status", "occurred_at", "reported_at", "mediated_at",
    "resolved_at", "description", "source_crs", "grid_code", "community_code", "town_code", "county_code",
    "compound_id", "outside_jurisdiction", "synthetic", "created_at", "updated_at",
)  # fmt: skip


@dataclass
class Problems:
    """Per-feature problems gathered in bulk: (indexes, field, reason or reason-per-index)."""

    n: int
    items: list[tuple[NDArray[np.int64], str, str | list[str]]] = field(default_factory=list)

    def add(self, indexes: Any, field_name: str, reason: str | list[str]) -> None:
        idx = np.asarray(indexes, dtype=np.int64).reshape(-1)
        if len(idx):
            self.items.append((idx, field_name, reason))

    def bad(self) -> NDArray[np.bool_]:
        mask = np.zeros(self.n, dtype=bool)
        for idx, _, _ in self.items:
            mask[idx] = True
        return mask

    def total(self) -> int:
        return sum(len(idx) for idx, _, _ in self.items)

    def report(self, cap: int = 1000) -> list[dict[str, Any]]:
        """The first `cap` problems by feature index, each {index, field, reason}."""
        if not self.items:
            return []
        which = np.concatenate([np.full(len(idx), k) for k, (idx, _, _) in enumerate(self.items)])
        pos = np.concatenate([np.arange(len(idx)) for idx, _, _ in self.items])
        rows = np.concatenate([idx for idx, _, _ in self.items])
        order = np.lexsort((which, rows))[:cap]
        out = []
        for o in order:
            _, name, reason = self.items[which[o]]
            out.append(
                {
                    "index": int(rows[o]),
                    "field": name,
                    "reason": reason if isinstance(reason, str) else reason[pos[o]],
                }
            )
        return out


# A reader's property columns: every name in PROPERTIES → one value per row as read (None where absent).
# Plain object arrays, not a DataFrame: one report is one row, and pandas' per-object overhead (a Series per
# column and per step) made reading and checking one Feature cost 2.7 ms; now 0.2–0.4 ms, and a 300,000-row
# check runs 1.8× faster with the same rows and problems (issue 17).
Columns = dict[str, NDArray[np.object_]]


def column(values: Any, n: int = -1) -> NDArray[np.object_]:
    """n values as a 1-D object array, each kept whole (a JSON list stays one value, not a row of its own)."""
    return np.fromiter(values, dtype=object, count=n)


@dataclass
class RawIncidents:
    """Parsed but unchecked input: coordinates (NaN where unusable), property columns, parse problems."""

    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    columns: Columns
    problems: Problems
    crs: str = "EPSG:4326"
    z_indexes: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    ignored: list[str] = field(default_factory=list)
    geometry_field: str = "geometry.coordinates"
    field_prefix: str = "properties."
    # The properties that occur in the input at all: the checks skip the others without touching pandas.
    present: frozenset[str] = frozenset(PROPERTIES)
    # Rows whose coordinates never parsed (flag_unparsed): the finite-number check does not report them twice.
    unparsed: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=bool))

    def __len__(self) -> int:
        return len(self.lon)


def flag_unparsed(raw: RawIncidents, unparsed: list[int]) -> None:
    """Mark rows whose coordinates never parsed, so the finite-number check does not report them twice."""
    raw.unparsed = np.zeros(len(raw), dtype=bool)
    raw.unparsed[np.asarray(unparsed, dtype=np.int64)] = True


# A pipeline stage reports (stage, done, total) as it goes: the CLI draws a progress bar from it.
Progress = Callable[[str, int, int], None]
