"""Open311 GeoReport v2 driven by a client library we did not write (`georeport`, PyPI), against a real uvicorn
on the Baoji demo: list services, file a request with an api_key, read its status; the case lands in its
community's queue; non-public cases never show; a step shows at once (the cache follows the live feed).

georeport 0.3.1 reads (services, requests, one request) but has no call to file a request, so the POST is the
plain form-encoded HTTP request the GeoReport v2 specification describes, sent with `requests` (georeport's
own HTTP library) to georeport's `root_address` with its `api_key`.
"""

from __future__ import annotations

import time

import httpx
import pytest
import requests
from georeport import GeoReport
from sqlalchemy.orm import Session

from geo.auth import create_user
from tests.conftest import ADMIN_TOKEN
from tests.live_server import demo_as_found, demo_grid_point, serving

pytestmark = pytest.mark.db
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture(scope="module")
def place(engine, owner_engine, demo_db):
    """A demo grid, a point inside it (8 decimals, as a phone sends) and its community operator's token; what
    the module commits on the demo is removed after it."""
    with demo_as_found(owner_engine):
        with Session(engine) as session:
            grid, lon, lat = demo_grid_point(session, "610303")
            token = create_user(session, "o311-community", ["centre_operator"], area_code=grid[:12])
            session.commit()
        yield {"grid": grid, "lon": round(lon, 8), "lat": round(lat, 8), "token": token}


def test_a_311_app_files_and_follows_a_request(settings, place):
    with serving(settings) as (base, _app):
        key = httpx.post(f"{base}/api/v1/open311/apps", json={"name": "市民随手拍"}, headers=ADMIN).json()[
            "api_key"
        ]
        client = GeoReport(f"{base}/open311/v2", api_key=key)

        services = client.get_service_list()
        assert {s["service_code"] for s in services} == {"dispute", "hazard", "service", "other"}

        filed = requests.post(
            f"{client.root_address}/requests.json",
            data={"api_key": client.api_key, "service_code": "hazard", "lat": place["lat"], "long": place["lon"],
                  "description": "井盖缺失 manhole cover missing", "email": "citizen@example.org", "name": "张三"},
            timeout=30,
        )  # fmt: skip
        assert filed.status_code == 200, filed.text
        request_id = filed.json()[0]["service_request_id"]

        shown = client.get_service_request(request_id)
        assert shown["status"] == "open" and shown["service_code"] == "hazard"
        assert (shown["lat"], shown["long"]) == (round(place["lat"], 3), round(place["lon"], 3))
        text_shown = str(shown)
        for private in ("citizen@example.org", "张三", place["grid"], "open311:", "井盖"):
            assert private not in text_shown
        assert request_id in {r["service_request_id"] for r in client.get_service_requests(status="open")}

        community = {"Authorization": f"Bearer {place['token']}"}
        queue = httpx.get(f"{base}/api/v1/cases", headers=community).json()["items"]
        case = next(c for c in queue if str(c["id"]) == request_id)
        assert case["channel"] == "public" and case["unit"]["code"] == place["grid"][:12]

        # The community declines it (a step); the public view says closed at once, not after the cache's TTL.
        step = httpx.post(
            f"{base}/api/v1/cases/{request_id}/steps",
            json={"step": "decline", "note": "重复举报 duplicate"},
            headers={**community, "If-Match": f'"{case["version"]}"'},
        )
        assert step.status_code == 200, step.text
        deadline = time.monotonic() + 2
        while client.get_service_request(request_id)["status"] != "closed":
            assert time.monotonic() < deadline, "the cached public view did not follow the step"
            time.sleep(0.05)


def test_open311_refuses_what_it_must(settings, place):
    with serving(settings) as (base, _app):
        key = httpx.post(f"{base}/api/v1/open311/apps", json={"name": "refusals"}, headers=ADMIN).json()["api_key"]
        form = {"api_key": key, "service_code": "dispute", "lat": place["lat"], "long": place["lon"]}
        root = f"{base}/open311/v2"

        nowhere = requests.post(f"{root}/requests.json", data={**form, "lat": 30.0, "long": 100.0}, timeout=30)
        assert nowhere.status_code == 400 and nowhere.json()[0]["code"] == 400
        bad_key = requests.post(f"{root}/requests.json", data={**form, "api_key": "guess"}, timeout=30)
        assert bad_key.status_code == 403 and "api_key" in bad_key.json()[0]["description"]
        crime = requests.post(f"{root}/requests.json", data={**form, "service_code": "property"}, timeout=30)
        assert crime.status_code == 400 and "service_code" in crime.json()[0]["description"]

        # A case reported by a centre (not the public channel) is invisible to Open311.
        community = {"Authorization": f"Bearer {place['token']}"}
        made = httpx.post(
            f"{base}/api/v1/cases",
            json={"type": "Feature", "geometry": {"type": "Point", "coordinates": [place["lon"], place["lat"]]},
                  "properties": {"category": "dispute", "occurred_at": "2026-12-01T09:00:00+08:00"}},
            headers=community,
        )  # fmt: skip
        assert made.status_code == 201, made.text
        internal = str(made.json()["id"])
        assert requests.get(f"{root}/requests/{internal}.json", timeout=30).status_code == 404
        listed = requests.get(f"{root}/requests.json", params={"service_request_id": internal}, timeout=30)
        assert listed.json() == []
