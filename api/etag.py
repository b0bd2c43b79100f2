"""ETags for versioned resources: the ETag is the quoted version; writes must send it back in If-Match."""

from __future__ import annotations

import re

from geo.errors import InvalidInput, PreconditionRequired

_TAG = re.compile(r'^\s*(?:W/)?"?(\d{1,9})"?\s*$')


def etag(version: int) -> str:
    return f'"{version}"'


def parse_if_match(header: str | None, what: str = "the resource") -> int:
    """The version an If-Match header names; 428 when it is missing, 400 when it is not a version ETag."""
    if header is None or not header.strip():
        raise PreconditionRequired(
            f"send If-Match with the ETag of {what} (GET it first) so that no concurrent edit is lost"
        )
    match = _TAG.match(header)
    if not match:
        raise InvalidInput(f'If-Match {header!r} is not the version ETag of {what}, e.g. "3"', field="If-Match")
    return int(match.group(1))
