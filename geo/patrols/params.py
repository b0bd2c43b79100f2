"""Patrol constants: speeds, visit lengths, stop kinds and the default weights of candidate stops."""

from __future__ import annotations

# Urban speeds: walking ~4.5 km/h; a patrol car in town traffic averages ~25 km/h.
SPEED_KMH = {"walk": 4.5, "drive": 25.0}
# Visits last 10–15 minutes (the community-policing practice): hot spots get the longer visit.
DWELL_MINUTES = {"hotspot": 15, "compound": 10, "hazard": 10}
MAX_SHIFT_MINUTES = 24 * 60
MAX_DWELL_MINUTES = 8 * 60
MAX_STOPS = 200
MAX_VERTICES = 20_000

STOP_KINDS = {
    "hotspot": ("热点网格", "Hot-spot grid"),
    "compound": ("未整治小区", "Unrenovated compound"),
    "hazard": ("安全隐患点", "Hazard location"),
    # Places the Baoji demo's routes visit (geo/demo/generate_patrols.py: its hot-spot kinds).
    "station": ("车站", "Station"),
    "market": ("市场", "Market"),
    "start": ("起点", "Start"),
    "other": ("其他", "Other"),
}

# Weights in "recent incident equivalents": a hot-spot grid weighs its incident count over the window;
# an unrenovated compound 1 per 50 households (a 500-household compound ≈ a grid with 10 incidents);
# a recent hazard 3 (a hazard found is a visit owed).
DEFAULT_WEIGHTS = {"hotspot_per_incident": 1.0, "compound_per_household": 0.02, "hazard": 3.0}
DEFAULT_HOUSEHOLDS = 100  # for a compound whose household count is unknown


def metres_per_second(mode: str) -> float:
    """Average speed of a patrol mode in m/s."""
    return SPEED_KMH[mode] * 1000.0 / 3600.0


def travel_minutes(length_m: float, mode: str) -> float:
    """Minutes to cover length_m at the mode's average speed."""
    return length_m / metres_per_second(mode) / 60.0
