"""The live feed (实时推送): server-sent events of case steps in the caller's area, opened with a ticket."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Query, Request
from sse_starlette import EventSourceResponse, ServerSentEvent

from api.deps import Reader, SettingsDep
from geo.live import Hub, Subscriber, issue_ticket, read_ticket
from geo.live.hub import RESYNC
from geo.live.tickets import TICKET_TTL_S

router = APIRouter(prefix="/api/v1/live", tags=["live 实时推送"])
PING_S = 15


@router.post("/ticket", summary="领取推送票据 A short-lived ticket that opens the live feed")
def ticket(principal: Reader, settings: SettingsDep) -> dict:
    """Trade the bearer token for a ticket to put in the EventSource URL (valid 60 s; the token never is)."""
    area = principal.area_code
    return {
        "ticket": issue_ticket(settings.ticket_secret, principal.username, area),
        "expires_in": TICKET_TTL_S,
        "area_code": area,
        "url": "/api/v1/live?ticket=",
    }


async def _events(request: Request, hub: Hub, subscriber: Subscriber) -> AsyncIterator[ServerSentEvent]:
    try:
        yield ServerSentEvent(event="hello", data=f'{{"area_code":"{subscriber.area_code}"}}')
        while True:
            item = await subscriber.queue.get()
            if item == RESYNC:
                yield ServerSentEvent(event="resync", data="{}")
            elif not isinstance(item, str):
                yield ServerSentEvent(event="case", data=item.to_json(), id=f"{item.case_id}:{item.version}")
    finally:
        hub.unsubscribe(subscriber)


@router.get("", summary="实时推送 Server-sent events of case steps in the ticket's area")
async def live(request: Request, settings: SettingsDep, ticket: Annotated[str | None, Query()] = None):
    """`event: case` with {case_id, state, version, step, units, at}; `event: resync` means refetch."""
    username, area = read_ticket(settings.ticket_secret, ticket)
    hub: Hub = request.app.state.live_hub
    subscriber = hub.subscribe(username, area)
    return EventSourceResponse(
        _events(request, hub, subscriber),
        ping=PING_S,
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
