"""Fan-out of case notices to connected screens, each filtered by its user's area (one event loop).

Each screen holds a bounded queue. A screen that falls that far behind (a stalled client) gets its queue
replaced by one `resync` marker: it then refetches its queue instead of the server holding notices for it
without end. After the listener loses its database connection it cannot know what it missed, so every screen
is told to resync too.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

from geo.area import Area
from geo.live.notice import CaseNotice

QUEUE_LIMIT = 256
RESYNC = "resync"


@dataclass(eq=False)
class Subscriber:
    """One open screen: whose it is, the area it may see, and its pending notices."""

    username: str
    area: Area  # the one jurisdiction rule (geo.area): a notice is seen when the area holds one of its units
    id: int = 0
    queue: asyncio.Queue[CaseNotice | str] = field(default_factory=lambda: asyncio.Queue(QUEUE_LIMIT))

    @property
    def area_code(self) -> str:
        return self.area.code

    def sees(self, notice: CaseNotice) -> bool:
        return any(self.area.holds(unit) for unit in notice.units)

    def offer(self, item: CaseNotice | str) -> None:
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(RESYNC)


class Hub:
    """The process's set of open screens; `publish` is called by the one listener per process."""

    def __init__(self) -> None:
        self._subscribers: set[Subscriber] = set()
        self._ids = itertools.count(1)
        self.listening = asyncio.Event()  # set while LISTEN holds (health, tests, bench)
        self.delivered = 0
        self.watchers: list[
            Callable[[CaseNotice | None], None]
        ] = []  # e.g. caches; None: anything may have changed

    def subscribe(self, username: str, area_code: str) -> Subscriber:
        subscriber = Subscriber(username, Area.of(area_code), next(self._ids))
        self._subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.discard(subscriber)

    @property
    def connections(self) -> int:
        return len(self._subscribers)

    def publish(self, notice: CaseNotice) -> int:
        """Offer notice to every screen whose area holds one of its units; returns how many got it."""
        for watcher in self.watchers:
            watcher(notice)
        count = 0
        for subscriber in list(self._subscribers):
            if subscriber.sees(notice):
                subscriber.offer(notice)
                count += 1
        self.delivered += count
        return count

    def resync_all(self) -> None:
        for watcher in self.watchers:
            watcher(None)
        for subscriber in list(self._subscribers):
            subscriber.offer(RESYNC)
