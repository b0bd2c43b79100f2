"""The hub hands each notice only to screens whose area holds one of its units, and never blocks on one."""

from __future__ import annotations

import asyncio

from geo.live import CaseNotice, Hub
from geo.live.hub import QUEUE_LIMIT, RESYNC


def notice(units: tuple[str, ...], case_id: int = 1) -> CaseNotice:
    return CaseNotice(case_id, "filed", 2, "file", units, "2026-12-05T09:00:00+00:00")


def test_screens_see_only_cases_in_their_area():
    async def run() -> None:
        hub = Hub()
        city = hub.subscribe("city", "610300")
        weibin = hub.subscribe("weibin", "610302")
        town = hub.subscribe("town", "610302001")
        jintai = hub.subscribe("jintai", "610303")
        assert hub.publish(notice(("610302001001001",))) == 3
        assert [s.queue.qsize() for s in (city, weibin, town, jintai)] == [1, 1, 1, 0]
        assert hub.publish(notice(("610303002001001", "610303"))) == 2  # city and Jintai
        assert jintai.queue.get_nowait().units == ("610303002001001", "610303")
        assert hub.publish(notice(("620102001001001",))) == 0  # Lanzhou is not in Baoji

    asyncio.run(run())


def test_a_stalled_screen_is_told_to_resync_instead_of_holding_everything():
    async def run() -> None:
        hub = Hub()
        stalled = hub.subscribe("wall", "610300")
        for i in range(QUEUE_LIMIT + 5):
            hub.publish(notice(("610302001001001",), case_id=i))
        assert stalled.queue.qsize() <= QUEUE_LIMIT
        drained = [stalled.queue.get_nowait() for _ in range(stalled.queue.qsize())]
        assert RESYNC in drained
        assert drained[-1] != RESYNC  # notices after the overflow still arrive, after the marker

    asyncio.run(run())
