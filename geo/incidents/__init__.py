"""Incidents: read (GeoJSON, CSV, GeoPackage), check, assign and store them; list, read and change them.

The pipeline: a reader (read_geojson, read_files; `read` picks one) → `checks` (one validation for every
path) → `store` (writers: `write_probe` for a few rows, `write_copy` straight in, `write_staged` through a
staging table, all ending in `upsert`'s statement) → events. `queries` lists, reads and changes stored ones.
"""

from geo.incidents.checks import Checked, IncidentRows, check, city_region
from geo.incidents.model import PROPERTIES, Problems, Progress, RawIncidents
from geo.incidents.pipeline import Stored, create_incident, import_incidents
from geo.incidents.queries import (
    CHANGEABLE,
    check_bulk_allowed,
    check_reported_inside,
    get_incident,
    list_incidents,
    update_incident,
)
from geo.incidents.read import READABLE, format_for, read_any
from geo.incidents.read_files import read_csv, read_geopackage
from geo.incidents.read_geojson import load_json, read_geojson

__all__ = [
    "CHANGEABLE",
    "PROPERTIES",
    "READABLE",
    "Checked",
    "IncidentRows",
    "Problems",
    "Progress",
    "RawIncidents",
    "check",
    "check_bulk_allowed",
    "check_reported_inside",
    "city_region",
    "Stored",
    "create_incident",
    "format_for",
    "get_incident",
    "import_incidents",
    "list_incidents",
    "load_json",
    "read_any",
    "read_csv",
    "read_geojson",
    "read_geopackage",
    "update_incident",
]
