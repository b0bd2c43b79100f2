"""Every error code the API answers with carries a Chinese message (`detail_zh`) beside the English `detail`.

The walk covers every domain exception class (subclasses of geo.errors.CitygridError, wherever defined),
raised through a real route of the real app, and the HTTP-level codes, each provoked as a client would.
"""

from __future__ import annotations

import re

import pytest
from fastapi import HTTPException
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from api.app import create_app
from api.deps import SessionDep
from api.errors import MESSAGES_ZH, status_for
from geo.errors import CitygridError

CJK = re.compile(r"[\u4e00-\u9fff]")


def domain_classes() -> list[type[CitygridError]]:
    create_app  # noqa: B018  # importing the app imports every module that defines a domain exception
    found, todo = [], [CitygridError]
    while todo:
        for sub in todo.pop().__subclasses__():
            found.append(sub)
            todo.append(sub)
    return found


def check(body: dict, code: str) -> None:
    assert body["code"] == code
    assert body["detail"]  # the English one stays
    assert CJK.search(body["detail_zh"]), body
    assert body["detail_zh"].startswith(MESSAGES_ZH[code]), body


@pytest.fixture(scope="module")
def raising(settings):
    """The real app with one extra route that raises the exception it is asked for."""
    app = create_app(settings)
    classes = {cls.__name__: cls for cls in domain_classes()}

    @app.get("/_raise/{name}")
    def _raise(name: str, session: SessionDep):
        if name == "http_418":
            raise HTTPException(418, "I'm a teapot")
        if name == "database_error":
            session.execute(text("SELECT * FROM no_such_table"))  # a server-side fault (42P01), not the input
        if name == "database_input":
            session.execute(text("SELECT 1 / 0"))  # SQLSTATE class 22: the value's fault, a 400
        if name == "database_unavailable":
            raise OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"))
        raise classes[name]("an English detail", field="start")

    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, classes
    app.state.engine.dispose()


def test_every_domain_error_has_its_own_chinese_message(raising):
    client, classes = raising
    assert len(classes) >= 15
    for name, cls in classes.items():
        assert cls.code in MESSAGES_ZH, f"{cls.__module__}.{name}: code {cls.code!r} has no Chinese message"
        r = client.get(f"/_raise/{name}")
        assert r.status_code == status_for(cls("x")), name
        check(r.json(), cls.code)
        assert "start" in r.json()["detail_zh"]  # the field is named in Chinese too
    zh = [MESSAGES_ZH[cls.code] for cls in classes.values()]
    assert len(set(zh)) == len({cls.code for cls in classes.values()})  # one message per code, not a catch-all


def test_http_level_errors_have_chinese_messages(raising, settings, auth):
    client, _ = raising
    check(client.get("/no/such/page").json(), "not_found")
    check(client.delete("/api/v1/meta").json(), "method_not_allowed")
    r = client.get("/api/v1/stats/counts", params={"start": "not-a-date", "end": "2020-01-01"}, headers=auth)
    assert r.status_code == 422
    check(r.json(), "invalid_input")
    assert "start" in r.json()["detail_zh"]
    r = client.post(
        "/api/v1/incidents", content=b"{not json", headers={**auth, "Content-Type": "application/json"}
    )
    assert r.status_code in (400, 422)
    check(r.json(), "invalid_input")
    check(client.get("/_raise/http_418").json(), "http_error")
    r = client.get("/_raise/database_error")
    assert r.status_code == 500
    check(r.json(), "database_error")
    from api.errors import _SQLSTATE_CLASSES

    for _, code in _SQLSTATE_CLASSES.values():  # every code a database error can be answered with
        assert code in MESSAGES_ZH, f"database error code {code!r} has no Chinese message"
    r = client.get("/_raise/database_input")
    assert r.status_code == 400
    check(r.json(), "invalid_input")
    r = client.get("/_raise/database_unavailable")
    assert r.status_code == 503
    check(r.json(), "database_unavailable")


def test_body_limit_and_statement_timeout_have_chinese_messages(settings, auth):
    small = create_app(settings.model_copy(update={"max_body_bytes": 1000}))
    with TestClient(small) as client:
        r = client.post("/api/v1/incidents", content=b"x" * 5000, headers=auth)
        assert r.status_code == 413
        check(r.json(), "too_large")
    small.state.engine.dispose()
    slow = create_app(settings.model_copy(update={"statement_timeout_ms": 50}))

    @slow.get("/_sleep")
    def _sleep(session: SessionDep):
        session.execute(text("SELECT pg_sleep(1)"))

    with TestClient(slow) as client:
        r = client.get("/_sleep")
        assert r.status_code == 503
        check(r.json(), "statement_timeout")
    slow.state.engine.dispose()
