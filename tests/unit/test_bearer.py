"""The one Authorization header reader, against RFC 6750's own example and the malformed headers seen in the wild."""

from __future__ import annotations

import pytest

from api.bearer import bearer_token


def test_the_rfc_6750_example_token():
    assert bearer_token("Bearer mF_9.B5f-4.1JqM") == "mF_9.B5f-4.1JqM"  # RFC 6750 §2.1
    assert bearer_token(b"bearer mF_9.B5f-4.1JqM") == "mF_9.B5f-4.1JqM"  # the scheme is case-insensitive
    assert bearer_token("Bearer abc==") == "abc=="


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Basic QWxhZGRpbjpvcGVu",
        "Bearer a b",
        "Bearer tökén",
        b"Bearer \xc3\xa9",
        b"\xff\xfe",
    ],
)
def test_anything_else_is_no_token(header):
    assert bearer_token(header) is None
