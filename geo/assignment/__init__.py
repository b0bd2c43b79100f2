"""Which grid (and community, town, county, compound) holds a point or a compound.

Two paths compute the one rule, side by side and tested against each other: `sql_rule` in PostGIS (single
writes, re-assignment after grid edits, compounds) and `memory_rule` over the raster `pointindex` (bulk
imports, before the rows reach PostgreSQL).
"""

from geo.assignment.memory_rule import Assigned, assign_points, warm
from geo.assignment.pointindex import PolygonIndex
from geo.assignment.sql_rule import (
    ASSIGNED,
    area_param,
    assign_compounds,
    assigned_columns,
    compound_hits_sql,
    grid_hits_sql,
    reassign_all_incident_compounds,
    reassign_area,
    reassign_area_moves,
    reassign_incident_compounds,
)

__all__ = [
    "ASSIGNED",
    "Assigned",
    "PolygonIndex",
    "area_param",
    "assign_compounds",
    "assign_points",
    "assigned_columns",
    "compound_hits_sql",
    "grid_hits_sql",
    "reassign_all_incident_compounds",
    "reassign_area",
    "reassign_area_moves",
    "reassign_incident_compounds",
    "warm",
]
