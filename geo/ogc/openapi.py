"""Documents OGC clients read to plan requests: an OpenAPI 3.0 description of /ogc (GDAL looks there for
the query parameters it may push to the server) and a JSON Schema of each collection's features (GDAL
takes field types from it instead of guessing them from the first page)."""

from __future__ import annotations

from typing import Any

from geo.ogc.collections import COLLECTIONS, Collection

_JSON_TYPES = {"string": "string", "integer": "integer", "number": "number", "boolean": "boolean"}


def _prop_schema(kind: str) -> dict[str, Any]:
    if kind == "datetime":
        return {"type": "string", "format": "date-time"}
    return {"type": _JSON_TYPES[kind]}


def feature_schema(coll: Collection, self_url: str) -> dict[str, Any]:
    """A JSON Schema of one GeoJSON Feature of the collection (properties typed as served)."""
    return {
        "$schema": "https://json-schema.org/draft/2019-09/schema",
        "$id": self_url,
        "title": coll.title,
        "type": "object",
        "required": ["type", "geometry", "properties"],
        "properties": {
            "type": {"type": "string", "enum": ["Feature"]},
            "id": {"type": "string" if coll.id_kind == "string" else "integer"},
            "geometry": {"$ref": f"https://geojson.org/schema/{coll.geometry_type}.json"},
            "properties": {
                "type": "object",
                "properties": {p.name: {"title": p.title, **_prop_schema(p.kind)} for p in coll.properties},
            },
        },
    }


def _param(name: str, schema: dict[str, Any], description: str, style: str | None = None) -> dict[str, Any]:
    out = {"name": name, "in": "query", "required": False, "schema": schema, "description": description}
    if style:
        out.update(style=style, explode=False)
    return out


def openapi(server_url: str, max_limit: int, default_limit: int) -> dict[str, Any]:
    """OpenAPI 3.0 for the OGC API under server_url (paths relative to it, as OGC clients expect)."""
    props: dict[str, str] = {}
    for coll in COLLECTIONS.values():
        for p in coll.properties:
            props.setdefault(p.name, p.kind)
    item_params = [
        _param("limit", {"type": "integer", "minimum": 1, "maximum": max_limit, "default": default_limit},
               "page size; above the maximum is served at the maximum"),
        _param("offset", {"type": "integer", "minimum": 0, "default": 0}, "features to skip"),
        _param("bbox", {"type": "array", "minItems": 4, "maxItems": 4, "items": {"type": "number"}},
               "minlon,minlat,maxlon,maxlat (CRS84)", style="form"),
        _param("datetime", {"type": "string"}, "instant, date or start/end with '..' open"),
        _param("filter", {"type": "string"}, "CQL2-text over the collection's queryables"),
        _param("filter-lang", {"type": "string", "enum": ["cql2-text"], "default": "cql2-text"}, "filter language"),
        *(_param(name, _prop_schema(kind), f"equals (queryable of the collections that have {name})")
          for name, kind in props.items()),
    ]  # fmt: skip
    json_ok = {"200": {"description": "OK", "content": {"application/json": {}}}}
    geojson_ok = {"200": {"description": "OK", "content": {"application/geo+json": {}}}}
    cid = {"name": "collectionId", "in": "path", "required": True,
           "schema": {"type": "string", "enum": list(COLLECTIONS)}}  # fmt: skip
    fid = {"name": "featureId", "in": "path", "required": True, "schema": {"type": "string"}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "citygrid OGC API – Features", "version": "1.0.0"},
        "servers": [{"url": server_url}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
        "paths": {
            "/": {"get": {"summary": "landing page", "responses": json_ok}},
            "/conformance": {"get": {"summary": "conformance classes", "responses": json_ok}},
            "/collections": {"get": {"summary": "collections", "responses": json_ok}},
            "/collections/{collectionId}": {"get": {"parameters": [cid], "responses": json_ok}},
            "/collections/{collectionId}/queryables": {"get": {"parameters": [cid], "responses": json_ok}},
            "/collections/{collectionId}/schema": {"get": {"parameters": [cid], "responses": json_ok}},
            "/collections/{collectionId}/items": {
                "get": {"summary": "features", "parameters": [cid, *item_params], "responses": geojson_ok}
            },
            "/collections/{collectionId}/items/{featureId}": {
                "get": {"summary": "one feature", "parameters": [cid, fid], "responses": geojson_ok}
            },
        },
    }
