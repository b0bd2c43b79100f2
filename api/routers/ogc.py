"""OGC API – Features Part 1 (+ Part 3 filtering) under /ogc: landing, conformance, collections, items."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from api.compression import respond
from api.deps import Reader, ReadSessionDep, SessionDep, request_read_session
from api.paging import Offset
from api.principal_cache import CachedReader
from api.routers import ogc_transactions
from geo.area import Area
from geo.errors import InvalidInput, NotFound
from geo.geojson import parse_bbox
from geo.ogc import conformance
from geo.ogc.collections import COLLECTIONS, CRS84, Collection, extents, queryables
from geo.ogc.items import ItemsQuery, item, items
from geo.ogc.openapi import feature_schema, openapi
from geo.ogc.params import check_crs, parse_datetime

PREFIX = "/ogc"
router = APIRouter(prefix=PREFIX, tags=["OGC API – Features 标准要素服务"])
# Part 4 (grid edits) lives in its own module; /conformance lists its classes because these routes exist.
router.include_router(ogc_transactions.router)

GEOJSON = "application/geo+json"
JSON = "application/json"
ITEMS_PARAMS = {"limit", "offset", "bbox", "bbox-crs", "datetime", "filter", "filter-lang", "filter-crs", "f"}


def base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + PREFIX


def json_response(request: Request, body: Any, media_type: str = JSON, headers: dict | None = None) -> Response:
    return respond(request, json.dumps(body, ensure_ascii=False).encode(), media_type, headers)


def collection_or_404(collection_id: str) -> Collection:
    coll = COLLECTIONS.get(collection_id)
    if coll is None:
        raise NotFound(
            f"no collection {collection_id!r}; collections: {', '.join(COLLECTIONS)}", field="collectionId"
        )
    return coll


def check_format(f: str | None) -> None:
    if f is not None and f.lower() not in ("json", "geojson"):
        raise InvalidInput(f"f: only json is served (got {f!r})", field="f")


def _route_paths(routes: list, prefix: str = "") -> Iterator[tuple[str, set[str]]]:
    """(full path, methods) of every API route, walking included routers (FastAPI keeps them as nodes)."""
    for r in routes:
        if isinstance(r, APIRoute):
            yield prefix + r.path, set(r.methods or ())
        elif hasattr(r, "original_router"):
            yield from _route_paths(r.original_router.routes, prefix + r.include_context.prefix)


def writes_mounted(request: Request) -> bool:
    """True when the Part 4 routes (POST on items) are part of this app."""
    state = request.app.state
    if not hasattr(state, "ogc_writes_mounted"):
        target = f"{PREFIX}/collections/{{collection_id}}/items"
        state.ogc_writes_mounted = any(
            path == target and "POST" in methods for path, methods in _route_paths(request.app.routes)
        )
    return state.ogc_writes_mounted


@router.get("", summary="服务首页 OGC API landing page")
def landing(request: Request, _: Reader, f: str | None = None) -> Response:
    check_format(f)
    b, root = base(request), str(request.base_url).rstrip("/")
    links = [
        {"href": b, "rel": "self", "type": JSON, "title": "本页 This document"},
        {"href": f"{b}/api", "rel": "service-desc",
         "type": "application/vnd.oai.openapi+json;version=3.0", "title": "OpenAPI 3.0 of this OGC API"},
        {"href": f"{root}/docs", "rel": "service-doc", "type": "text/html", "title": "API 文档 API documentation"},
        {"href": f"{b}/conformance", "rel": "conformance", "type": JSON, "title": "一致性 Conformance"},
        {"href": f"{b}/collections", "rel": "data", "type": JSON, "title": "要素集合 Collections"},
        {"href": f"{root}/tiles", "rel": "related", "type": JSON, "title": "矢量瓦片 Vector tiles (MVT)"},
    ]  # fmt: skip
    body = {
        "title": "citygrid 市域社会治理网格 OGC API – Features",
        "description": "宝鸡市域社会治理网格、事件、老旧小区与巡逻路线 Baoji grids, incidents, compounds and patrols",
        "links": links,
    }
    return json_response(request, body)


@router.get(
    "/api",
    summary="OGC 接口描述 OpenAPI 3.0 of the OGC API (what GDAL reads)",
    responses={200: {"content": {"application/vnd.oai.openapi+json;version=3.0": {}}}},
)
def ogc_openapi(request: Request, _: Reader) -> Response:
    settings = request.app.state.settings
    doc = openapi(base(request), settings.max_page_size, settings.default_page_size)
    return json_response(request, doc, "application/vnd.oai.openapi+json;version=3.0")


@router.get(
    "/collections/{collection_id}/schema",
    summary="要素模式 JSON Schema of a collection's features",
    responses={200: {"content": {"application/schema+json": {}}}},
)
def get_schema(request: Request, collection_id: str, _: Reader) -> Response:
    coll = collection_or_404(collection_id)
    url = f"{base(request)}/collections/{coll.id}/schema"
    return json_response(request, feature_schema(coll, url), "application/schema+json")


@router.get("/conformance", summary="一致性声明 Conformance classes")
def conformance_classes(request: Request, _: Reader, f: str | None = None) -> Response:
    check_format(f)
    return json_response(request, {"conformsTo": conformance.classes(writes_mounted(request))})


def collection_doc(request: Request, coll: Collection, extent: dict[str, Any]) -> dict[str, Any]:
    url = f"{base(request)}/collections/{coll.id}"
    return {
        "id": coll.id,
        "title": coll.title,
        "description": coll.description,
        "itemType": "feature",
        "crs": [CRS84],
        "storageCrs": CRS84,
        "extent": extent,
        "links": [
            {"href": url, "rel": "self", "type": JSON, "title": coll.title},
            {"href": f"{url}/items", "rel": "items", "type": GEOJSON, "title": "要素 Items"},
            {
                "href": f"{url}/schema",
                "rel": "describedBy",
                "type": "application/schema+json",
                "title": "要素模式 Feature schema",
            },
            {
                "href": f"{url}/queryables",
                "rel": "http://www.opengis.net/def/rel/ogc/1.0/queryables",
                "type": "application/schema+json",
                "title": "可查询属性 Queryables",
            },
        ],  # fmt: skip
    }


@router.get("/collections", summary="要素集合 Collections")
def list_collections(request: Request, session: ReadSessionDep, who: Reader, f: str | None = None) -> Response:
    check_format(f)
    ext = extents(session, who.area)
    body = {
        "links": [{"href": f"{base(request)}/collections", "rel": "self", "type": JSON}],
        "collections": [collection_doc(request, c, ext[c.id]) for c in COLLECTIONS.values()],
    }
    return json_response(request, body)


@router.get("/collections/{collection_id}", summary="要素集合 One collection")
def get_collection(
    request: Request, collection_id: str, session: ReadSessionDep, who: Reader, f: str | None = None
) -> Response:
    check_format(f)
    coll = collection_or_404(collection_id)
    return json_response(request, collection_doc(request, coll, extents(session, who.area)[coll.id]))


@router.get("/collections/{collection_id}/queryables", summary="可查询属性 Queryables (JSON Schema)")
def get_queryables(request: Request, collection_id: str, _: Reader, f: str | None = None) -> Response:
    coll = collection_or_404(collection_id)
    url = f"{base(request)}/collections/{coll.id}/queryables"
    return json_response(request, queryables(coll, url), "application/schema+json")


def items_query(request: Request, coll: Collection, limit: int, offset: int, max_limit: int) -> ItemsQuery:
    """Validate the items query string: unknown parameters are 400s, values are typed."""
    qp = request.query_params
    props: dict[str, str] = {}
    for name in qp:
        if name in ITEMS_PARAMS:
            continue
        if coll.prop(name) is None:
            allowed = sorted(ITEMS_PARAMS | {p.name for p in coll.properties})
            raise InvalidInput(f"unknown query parameter {name!r}; allowed: {', '.join(allowed)}", field=name)
        props[name] = qp[name]
    check_format(qp.get("f"))
    check_crs(qp.get("bbox-crs"), "bbox-crs")
    check_crs(qp.get("filter-crs"), "filter-crs")
    lang = qp.get("filter-lang")
    if lang is not None and lang != "cql2-text":
        raise InvalidInput(f"filter-lang: only cql2-text is supported (got {lang!r})", field="filter-lang")
    return ItemsQuery(
        limit=min(limit, max_limit),  # Part 1: a limit above the maximum is served at the maximum, not refused
        offset=offset,
        bbox=parse_bbox(qp.get("bbox")),
        datetime=parse_datetime(qp.get("datetime")),
        properties=props,
        filter=qp.get("filter"),
    )


@router.get(
    "/collections/{collection_id}/items",
    summary="要素 Items (GeoJSON; bbox, datetime, property and CQL2-text filters)",
    response_class=Response,
    responses={200: {"content": {GEOJSON: {}}}},
)
async def get_items(
    request: Request,
    collection_id: str,
    who: CachedReader,
    limit: Annotated[int, Query(ge=1, description="page size; above the maximum is served at the maximum")] = 100,
    offset: Offset = 0,
    bbox: Annotated[str | None, Query(description="minlon,minlat,maxlon,maxlat (CRS84)")] = None,
    datetime: Annotated[str | None, Query(description="instant, date or start/end with '..' open")] = None,
    filter: Annotated[str | None, Query(description="CQL2-text, e.g. category = 'dispute'")] = None,
    filter_lang: Annotated[str | None, Query(alias="filter-lang")] = None,
) -> Response:
    # async with a cached principal: one hop to a worker thread for the query, none for auth or paging.
    coll = collection_or_404(collection_id)
    q = items_query(request, coll, limit, offset, request.app.state.settings.max_page_size)
    return await run_in_threadpool(_items_page, request, coll, q, who.area)


def _items_page(request: Request, coll: Collection, q: ItemsQuery, area: Area) -> Response:
    with request_read_session(request) as session:
        matched, returned, features = items(session, coll, q, area)
    url = f"{base(request)}/collections/{coll.id}"
    links = [
        {"href": str(request.url), "rel": "self", "type": GEOJSON},
        {"href": url, "rel": "collection", "type": JSON},
    ]
    if q.offset + returned < matched:
        nxt = request.url.include_query_params(offset=q.offset + q.limit, limit=q.limit)
        links.append({"href": str(nxt), "rel": "next", "type": GEOJSON})
    if q.offset > 0:
        prev = request.url.include_query_params(offset=max(0, q.offset - q.limit), limit=q.limit)
        links.append({"href": str(prev), "rel": "prev", "type": GEOJSON})
    tail = {
        "numberMatched": matched,
        "numberReturned": returned,
        "timeStamp": dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "links": links,
    }
    body = '{"type": "FeatureCollection", "features": ' + features + ", " + json.dumps(tail)[1:]
    return respond(request, body.encode(), GEOJSON)


@router.get(
    "/collections/{collection_id}/items/{feature_id}",
    summary="单个要素 One feature (GeoJSON; grids carry an ETag for Part 4 edits)",
    response_class=Response,
    responses={200: {"content": {GEOJSON: {}}}},
)
def get_item(
    request: Request, collection_id: str, feature_id: str, session: SessionDep, who: Reader, f: str | None = None
) -> Response:
    # From the primary, unlike the item lists: a grid's ETag here is what the next edit sends as If-Match.
    check_format(f)
    coll = collection_or_404(collection_id)
    found = item(session, coll, feature_id, who.area)
    if found is None:
        raise NotFound(f"no feature {feature_id!r} in {coll.id}", field="featureId")
    feature, props = found
    url = f"{base(request)}/collections/{coll.id}"
    links = [
        {"href": f"{url}/items/{feature_id}", "rel": "self", "type": GEOJSON},
        {"href": url, "rel": "collection", "type": JSON},
    ]
    body = feature[:-1] + ', "links": ' + json.dumps(links) + "}"
    headers = {"ETag": f'"{props["version"]}"'} if "version" in props else None
    return respond(request, body.encode(), GEOJSON, headers)
