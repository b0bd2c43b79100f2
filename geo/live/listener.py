"""The one LISTEN connection per process: relays committed case notices to the hub until cancelled."""

from __future__ import annotations

import asyncio
import logging

import psycopg

from geo.live.hub import Hub
from geo.live.notice import CHANNEL, parse_notice
from geo.pg.db import libpq_url

RETRY_S = 2.0
log = logging.getLogger(__name__)


async def listen(database_url: str, hub: Hub) -> None:
    """LISTEN on the case channel and publish each notice; reconnect (and resync screens) after a loss."""
    url = libpq_url(database_url)
    lost = False
    while True:
        try:
            async with await psycopg.AsyncConnection.connect(url, autocommit=True, connect_timeout=5) as conn:
                await conn.execute(f"LISTEN {CHANNEL}")
                hub.listening.set()
                if lost:  # notices sent while we were away are gone: screens refetch
                    hub.resync_all()
                async for note in conn.notifies():
                    notice = parse_notice(note.payload)
                    if notice is not None:
                        hub.publish(notice)
        except psycopg.Error as exc:
            log.warning("live feed: lost the LISTEN connection (%s); retrying in %.0f s", exc, RETRY_S)
        hub.listening.clear()
        lost = True
        await asyncio.sleep(RETRY_S)
