"""Paging links shared by the list endpoints."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Query, Request

# Bounded so that a huge value is a 422, not an integer overflow in PostgreSQL.
Offset = Annotated[int, Query(ge=0, le=100_000_000, description="features to skip")]
Limit = Annotated[int, Query(ge=1, le=100_000, description="page size (capped by the server's max page size)")]

_MATCHED = re.compile(r'"numberMatched": (\d+)')


def next_link(request: Request, body: str, limit: int, offset: int) -> str | None:
    """The URL of the next page, or None on the last one (reads numberMatched from the body)."""
    m = _MATCHED.search(body[-200:]) or _MATCHED.search(body)
    if not m or offset + limit >= int(m.group(1)):
        return None
    return str(request.url.include_query_params(offset=offset + limit, limit=limit))
