"""Input no handler should ever see, refused once at the edge with a 400 naming the parameter.

A NUL byte in a path or query value cannot be stored or compared by PostgreSQL (it was a 500 wherever such a
value reached SQL), and a date in the year 1 or 9999 overflows as soon as it is shifted between UTC and
UTC+8 (a 500 in Python or in PostgreSQL's rendering). Checking every parameter here covers routes that
do not exist yet too; typed parameters are still validated by their routes.
"""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qsl, unquote

from starlette.types import ASGIApp, Receive, Scope, Send

from api.errors import error_body, shaped
from geo.timebounds import QUERY_YEARS

# A calendar date at the start of a value or after '/' (datetime intervals): its year is checked.
_DATE = re.compile(r"(?:^|/)\s*(\d{4,})-\d{1,2}-\d{1,2}")


def problem(path: str, query: str) -> tuple[str, str] | None:
    """(field, reason) of the first value that may not reach the application, or None."""
    if "\x00" in path:
        return "path", "the path contains a NUL byte (%00)"
    for name, value in parse_qsl(query, keep_blank_values=True):
        if "\x00" in name or "\x00" in value:
            return name.replace("\x00", "\\0"), f"{name!r} contains a NUL byte (%00)"
        for match in _DATE.finditer(value):
            year = int(match.group(1))
            if not QUERY_YEARS[0] <= year <= QUERY_YEARS[1]:
                return name, (f"{name}: year {year} is outside {QUERY_YEARS[0]}–{QUERY_YEARS[1]} 日期超出范围")
    return None


class InputHygiene:
    """400 {code: invalid_input, field} for a NUL byte or an out-of-range date in the path or the query."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = unquote(scope.get("raw_path", b"").decode("latin-1")) or scope["path"]
            found = problem(path, scope.get("query_string", b"").decode("utf-8", "replace"))
            if found:
                field, reason = found
                body = json.dumps(
                    shaped(scope["path"], error_body("invalid_input", reason, field=field), 400)
                ).encode()
                headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
                await send({"type": "http.response.start", "status": 400, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)
