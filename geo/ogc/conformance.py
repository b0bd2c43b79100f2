"""The conformance classes citygrid implements; Part 4 classes only when its routes are mounted."""

from __future__ import annotations

FEATURES_1 = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf"
FEATURES_3 = "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf"
FEATURES_4 = "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf"
CQL2 = "http://www.opengis.net/spec/cql2/1.0/conf"

# Not claimed: oas30 (FastAPI publishes OpenAPI 3.1) and html (JSON only); cql2-json; temporal,
# array, arithmetic and case/accent-insensitive CQL2 classes.
READ_CLASSES = [
    f"{FEATURES_1}/core",
    f"{FEATURES_1}/geojson",
    f"{FEATURES_3}/filter",
    f"{FEATURES_3}/features-filter",
    f"{FEATURES_3}/queryables",
    f"{FEATURES_3}/queryables-query-parameters",
    f"{CQL2}/cql2-text",
    f"{CQL2}/basic-cql2",
    f"{CQL2}/advanced-comparison-operators",
    f"{CQL2}/property-property",
    f"{CQL2}/basic-spatial-functions",
    f"{CQL2}/basic-spatial-functions-plus",
    f"{CQL2}/spatial-functions",
]
WRITE_CLASSES = [f"{FEATURES_4}/create-replace-delete", f"{FEATURES_4}/update", f"{FEATURES_4}/features"]


def classes(writes_mounted: bool) -> list[str]:
    """The classes that hold for an app with (or without) the Part 4 routes."""
    return READ_CLASSES + (WRITE_CLASSES if writes_mounted else [])
