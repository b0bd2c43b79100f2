"""Every response carries the security headers: pages, API, errors, static files, tiles."""

from __future__ import annotations

import pytest

EXPECTED = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "SAMEORIGIN",
    "referrer-policy": "no-referrer",
}


@pytest.mark.parametrize(
    "path,authorised",
    [
        ("/", False),
        ("/health", False),
        ("/api/v1/grids", True),
        ("/api/v1/grids", False),  # 401
        ("/api/v1/grids/%00", True),  # refused at the edge
        ("/no/such/page", False),
        ("/static/vendor/leaflet/leaflet.css", False),
        ("/tiles/grids/14/13263/6555.mvt", True),
        ("/ogc/collections", True),
    ],
)
def test_security_headers_on_every_response(client, auth, path, authorised):
    response = client.get(path, headers=auth if authorised else {})
    for name, value in EXPECTED.items():
        assert response.headers.get(name) == value, (path, response.status_code, name)
    assert "frame-ancestors 'self'" in response.headers["content-security-policy"]
