"""One catalogue of published layers: OGC collections and tile layers are made from it, none added beside it."""

from __future__ import annotations

from geo.layers import LAYERS
from geo.ogc.collections import COLLECTIONS
from geo.tiles import LAYERS as TILE_LAYERS


def test_collections_and_tiles_publish_exactly_the_catalogue():
    assert list(COLLECTIONS) == list(TILE_LAYERS) == list(LAYERS)
    for name, layer in LAYERS.items():
        assert (COLLECTIONS[name].table, COLLECTIONS[name].title) == (layer.table, layer.title)
        assert (TILE_LAYERS[name].table, TILE_LAYERS[name].title) == (layer.table, layer.title)


def test_retired_grids_are_hidden_from_both():
    # The catalogue's one statement of which grid rows exist for clients, on each reader's alias.
    assert COLLECTIONS["grids"].base_where == "t.status = 'active'"
    assert "g.status = 'active'" in TILE_LAYERS["grids"].where
