"""OGC API – Features for citygrid: collections, items, CQL2-text filters (all SQL built from allowlists)."""
