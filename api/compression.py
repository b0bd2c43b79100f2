"""gzip for responses the routers build themselves (tiles keep their gzip in the tile cache)."""

from __future__ import annotations

import gzip

from fastapi import Request, Response

MIN_BYTES = 1024  # below this gzip costs more than it saves


def accepts_gzip(request: Request) -> bool:
    return "gzip" in request.headers.get("accept-encoding", "").lower()


def respond(
    request: Request, body: bytes, media_type: str, headers: dict[str, str] | None = None, status_code: int = 200
) -> Response:
    """A Response with body gzipped (level 6, zlib's default) when the client accepts it and it is worth it."""
    headers = dict(headers or {})
    headers["Vary"] = "Accept-Encoding"
    if len(body) >= MIN_BYTES and accepts_gzip(request):
        body = gzip.compress(body, 6)
        headers["Content-Encoding"] = "gzip"
    return Response(body, status_code=status_code, media_type=media_type, headers=headers)
