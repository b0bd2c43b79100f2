"""Prometheus gauges for the databases this process uses: up, role, WAL position, replica lag, read routing.

Collected at scrape time from the app's DatabaseRouter (one probe per database per scrape), into the default
prometheus-client registry, so any /metrics endpoint serving that registry exports them.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator

from prometheus_client import REGISTRY
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from geo.pg.routing import DatabaseRouter, parse_lsn


class DatabaseCollector(Collector):
    """Reports the most recently created app's router (one app per process outside the tests)."""

    def __init__(self) -> None:
        self._router: weakref.ref[DatabaseRouter] | None = None

    def track(self, router: DatabaseRouter) -> None:
        self._router = weakref.ref(router)

    def collect(self) -> Iterator[Metric]:
        router = self._router() if self._router is not None else None
        if router is None:
            return
        labels = ["database"]
        up = GaugeMetricFamily("citygrid_db_up", "1 if the database answered the probe", labels=labels)
        standby = GaugeMetricFamily(
            "citygrid_db_is_standby", "1 for a standby (in recovery), 0 for a primary", labels=labels
        )
        lag = GaugeMetricFamily(
            "citygrid_db_replica_lag_seconds",
            "how far a standby's replay is behind (0 when caught up)",
            labels=labels,
        )
        lsn = GaugeMetricFamily(
            "citygrid_db_wal_lsn_bytes", "WAL position: written (primary) or replayed (standby)", labels=labels
        )
        for row in router.report():
            name = [row["name"]]
            up.add_metric(name, 1.0 if row["reachable"] else 0.0)
            if not row["reachable"]:
                continue
            standby.add_metric(name, 1.0 if row["role"] == "standby" else 0.0)
            lsn.add_metric(name, float(parse_lsn(row["lsn"]) or 0))
            if row["lag_s"] is not None:
                lag.add_metric(name, float(row["lag_s"]))
        reads = CounterMetricFamily(
            "citygrid_db_lagging_reads", "reads that may lag, by where they went and why", labels=["served_by"]
        )
        for key, count in router.reads.items():
            reads.add_metric([key], float(count))
        yield from (up, standby, lag, lsn, reads)


COLLECTOR = DatabaseCollector()
REGISTRY.register(COLLECTOR)
