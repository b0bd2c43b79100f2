"""The one reader of `Authorization: Bearer <token>` (RFC 6750), for the dependencies and the tile fast path."""

from __future__ import annotations

import re

# RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")


def bearer_token(header: str | bytes | None) -> str | None:
    """The token of a Bearer authorization header; None when absent, another scheme, or not a b64token.

    Bytes are read as Latin-1 (as HTTP header bytes are); a token with other characters (non-ASCII, spaces)
    is no token, so the caller answers 401 rather than failing on it.
    """
    if header is None:
        return None
    text = header.decode("latin-1") if isinstance(header, bytes) else header
    scheme, _, token = text.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not _B64TOKEN.fullmatch(token):
        return None
    return token
