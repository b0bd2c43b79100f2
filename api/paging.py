"""Paging shared by the list endpoints: the query bounds and the one response builder for a Page."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request, Response

from geo.geojson import Page

GEOJSON = "application/geo+json"
# Bounded so that a huge value is a 422, not an integer overflow in PostgreSQL.
Offset = Annotated[int, Query(ge=0, le=100_000_000, description="features to skip")]
Limit = Annotated[int, Query(ge=1, le=100_000, description="page size (capped by the server's max page size)")]


def next_link(request: Request, page: Page) -> str | None:
    """The URL of the next page, or None on the last one."""
    if page.next_offset is None:
        return None
    return str(request.url.include_query_params(offset=page.next_offset, limit=page.limit))


def page_response(request: Request, page: Page, media_type: str = GEOJSON) -> Response:
    """A page as a FeatureCollection response, with a Link header to the next page when there is one."""
    link = next_link(request, page)
    return Response(page.body(), media_type=media_type, headers={"Link": f'<{link}>; rel="next"'} if link else {})
