"""/docs and /redoc from the Swagger UI and ReDoc copies inside the fastapi-offline wheel, nothing from a CDN.

fastapi-offline serves both pages offline except for one thing: ReDoc's sidebar shows Redocly's logo from
cdn.redoc.ly. Here ReDoc's script is served with that one URL pointing at a local copy (an inline SVG), so
the pages make no request off this server (tests/browser/test_field_and_docs.py watches that).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request, Response
from fastapi.openapi.docs import get_redoc_html
from fastapi.responses import HTMLResponse

ASSETS = Path(fastapi_offline.__file__).parent / "static"
DOCS_ASSETS = "/static/docs-vendor"  # where FastAPIOffline mounts its copies
REDOC_JS = "/static/redoc/redoc.standalone.js"  # public like every static asset
REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"
LOCAL_LOGO = "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='1' height='1'/%3E"


@cache
def redoc_js() -> bytes:
    """ReDoc's bundle with its one CDN logo URL made local."""
    code = (ASSETS / "redoc.standalone.js").read_bytes()
    assert code.count(REDOC_LOGO.encode()) == 1, "a ReDoc upgrade moved its logo URL: look again"
    return code.replace(REDOC_LOGO.encode(), LOCAL_LOGO.encode())


def install(app: FastAPI) -> None:
    """Add /redoc and its script to an app made by FastAPIOffline(redoc_url=None)."""

    @app.get(REDOC_JS, include_in_schema=False)
    def _redoc_js() -> Response:
        return Response(redoc_js(), media_type="text/javascript", headers={"Cache-Control": "max-age=86400"})

    @app.get("/redoc", include_in_schema=False)
    def _redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=app.title + " - ReDoc",
            redoc_js_url=f"{root}{REDOC_JS}",
            redoc_favicon_url=f"{root}{DOCS_ASSETS}/favicon.png",
            with_google_fonts=False,
        )
