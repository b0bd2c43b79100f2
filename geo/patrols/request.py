"""What a suggested patrol is asked for: the area, start, shift, mode and solver options, checked field by field."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from geo import vocab
from geo.errors import InvalidInput
from geo.patrols.hotspots import HOT_METHODS
from geo.patrols.params import DEFAULT_WEIGHTS
from geo.patrols.validate import check_choice, check_shift_minutes, parse_point

SOLVERS = {"ortools": ("OR-Tools", "OR-Tools"), "greedy": ("贪心", "Greedy"), "exact": ("精确", "Exact")}


@dataclass
class SuggestRequest:
    """What to plan: the area (officer, community or grids), start, shift, mode and solver options."""

    shift_minutes: float
    officer_id: int | None = None
    community_code: str | None = None
    grid_codes: list[str] | None = None
    start: tuple[float, float] | None = None
    mode: str = "walk"
    shift: str = "day"
    randomize_times: bool = False
    seed: int | None = None
    days: int = 28
    top_n: int = 10
    max_candidates: int = 50
    return_to_start: bool = True
    solver: str = "ortools"
    time_limit_ms: int = 1000
    as_of: dt.datetime | None = None
    weights: dict[str, float] = field(default_factory=dict)
    hot_method: str = "top_n"


def _int(payload: Mapping[str, Any], name: str, default: int, lo: int, hi: int) -> int:
    value = payload.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise InvalidInput(f"{name} must be an integer within {lo}–{hi}, got {value!r}", field=name)
    return value


def parse_request(payload: Mapping[str, Any]) -> SuggestRequest:
    """A SuggestRequest from JSON-like input, each problem named by its field."""
    if not isinstance(payload, Mapping):
        raise InvalidInput("the request must be a JSON object")
    if payload.get("shift_minutes") is None:
        raise InvalidInput("shift_minutes is required (the length of the shift in minutes)", field="shift_minutes")
    grid_codes = payload.get("grid_codes")
    if grid_codes is not None and (
        not isinstance(grid_codes, list) or not grid_codes or not all(isinstance(c, str) for c in grid_codes)
    ):
        raise InvalidInput("grid_codes must be a non-empty list of grid codes", field="grid_codes")
    if all(payload.get(k) is None for k in ("officer_id", "community_code", "grid_codes")):
        raise InvalidInput("give an officer_id, a community_code or grid_codes", field="officer_id")
    officer_id = payload.get("officer_id")
    if officer_id is not None and (isinstance(officer_id, bool) or not isinstance(officer_id, int)):
        raise InvalidInput(f"officer_id must be an integer, got {officer_id!r}", field="officer_id")
    weights = payload.get("weights") or {}
    if not isinstance(weights, Mapping):
        raise InvalidInput("weights must be an object", field="weights")
    for key, value in weights.items():
        if key not in DEFAULT_WEIGHTS:
            raise InvalidInput(
                f"unknown weight {key!r}; one of {', '.join(DEFAULT_WEIGHTS)}", field=f"weights.{key}"
            )
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1e6:
            raise InvalidInput(f"weights.{key} must be a number ≥ 0", field=f"weights.{key}")
    seed = payload.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63):
        raise InvalidInput("seed must be a non-negative integer", field="seed")
    as_of = payload.get("as_of")
    if isinstance(as_of, str):
        try:
            as_of = dt.datetime.fromisoformat(as_of)
        except ValueError as exc:
            raise InvalidInput(f"as_of is not an ISO date-time: {as_of!r}", field="as_of") from exc
    return SuggestRequest(
        shift_minutes=check_shift_minutes(payload.get("shift_minutes")),
        officer_id=officer_id,
        community_code=payload.get("community_code"),
        grid_codes=grid_codes,
        start=parse_point(payload["start"], "start") if payload.get("start") is not None else None,
        mode=check_choice(payload.get("mode", "walk"), "mode", vocab.PATROL_MODES),
        shift=check_choice(payload.get("shift", "day"), "shift", vocab.SHIFTS),
        randomize_times=bool(payload.get("randomize_times", False)),
        seed=seed,
        days=_int(payload, "days", 28, 1, 3660),
        top_n=_int(payload, "top_n", 10, 1, 200),
        max_candidates=_int(payload, "max_candidates", 50, 1, 200),
        return_to_start=bool(payload.get("return_to_start", True)),
        solver=check_choice(payload.get("solver", "ortools"), "solver", SOLVERS),
        time_limit_ms=_int(payload, "time_limit_ms", 1000, 10, 30_000),
        as_of=as_of,
        weights=dict(weights),
        hot_method=check_choice(payload.get("hot_method", "top_n"), "hot_method", HOT_METHODS),
    )
