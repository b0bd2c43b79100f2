"""Mapbox vector tiles of the published layers (`render`) and the in-process tile cache (`cache`)."""

from geo.tiles.cache import CacheStats, TileCache, TileKey, tile_bounds, tile_range
from geo.tiles.render import LAYERS, TileFilter, TileLayer, check_tile, render_tile, scoped_variant, tilejson

__all__ = [
    "LAYERS",
    "CacheStats",
    "TileCache",
    "TileFilter",
    "TileKey",
    "TileLayer",
    "check_tile",
    "render_tile",
    "scoped_variant",
    "tile_bounds",
    "tile_range",
    "tilejson",
]
