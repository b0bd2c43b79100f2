"""Short-lived signed tickets that open a live feed (EventSource cannot send an Authorization header).

A screen trades its bearer token for a ticket (POST /api/v1/live/ticket) and puts only the ticket in the
feed's URL: it names the user and area, expires after TICKET_TTL_S and is worthless for any other route, so a
URL that lands in a log or a proxy's history does not leak the long-lived token. Tickets are HMAC-SHA256
signed with a key derived from the server's secret, so every worker of one deployment accepts them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

from geo.errors import Unauthorized

TICKET_TTL_S = 60


def _key(secret: str) -> bytes:
    return hmac.new(secret.encode(), b"citygrid live-feed ticket v1", hashlib.sha256).digest()


def _sign(secret: str, body: bytes) -> str:
    return base64.urlsafe_b64encode(hmac.new(_key(secret), body, hashlib.sha256).digest()).decode().rstrip("=")


def issue_ticket(secret: str, username: str, area_code: str, now: float | None = None) -> str:
    """A ticket for username's screen over area_code, valid TICKET_TTL_S seconds from now."""
    expires = int((now if now is not None else time.time()) + TICKET_TTL_S)
    claims = json.dumps({"u": username, "a": area_code, "exp": expires}, separators=(",", ":")).encode()
    body = base64.urlsafe_b64encode(claims).decode().rstrip("=")
    return f"{body}.{_sign(secret, body.encode())}"


def read_ticket(secret: str, ticket: str | None, now: float | None = None) -> tuple[str, str]:
    """(username, area_code) of a valid, unexpired ticket; Unauthorized otherwise."""
    if not ticket or ticket.count(".") != 1:
        raise Unauthorized("a live-feed ticket is required: POST /api/v1/live/ticket first", field="ticket")
    body, signature = ticket.split(".")
    if not hmac.compare_digest(signature, _sign(secret, body.encode())):
        raise Unauthorized("the live-feed ticket is not valid", field="ticket")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    if claims["exp"] < (now if now is not None else time.time()):
        raise Unauthorized("the live-feed ticket has expired: ask for a new one", field="ticket")
    return str(claims["u"]), str(claims["a"])
