"""The live feed: case changes announced by PostgreSQL NOTIFY, fanned out to each user's open screens.

A writer calls `announce_case(session, ...)` inside the transaction that moves a case: PostgreSQL delivers the
NOTIFY only if that transaction commits, so a screen never shows a step that was rolled back. One listener per
process (`listener.listen`, started in the app lifespan) hands each notice to the `Hub`, which gives it to the
connected clients whose area holds one of the case's unit codes.
"""

from geo.live.hub import Hub, Subscriber
from geo.live.notice import CHANNEL, CaseNotice, announce_case, parse_notice
from geo.live.tickets import issue_ticket, read_ticket

__all__ = [
    "CHANNEL",
    "CaseNotice",
    "Hub",
    "Subscriber",
    "announce_case",
    "issue_ticket",
    "parse_notice",
    "read_ticket",
]
