"""Prometheus metrics. Under gunicorn with several workers set PROMETHEUS_MULTIPROC_DIR
(the devstack and the Kubernetes manifests do) and /metrics aggregates every worker.

The outbox's backlog is not a counter any process keeps: ``OutboxCollector`` reads it from the service's
database when /metrics is scraped, so it is true whether the relay runs, stands by, is stuck or is down."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

REQUESTS = Counter("http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram("http_request_duration_seconds", "HTTP request latency", ["method", "route"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
EVENTS_CONSUMED = Counter("events_consumed_total", "Events applied by a consumer", ["consumer", "outcome"])
EVENTS_PUBLISHED = Counter("events_published_total", "Events published by the outbox relay", ["service"])
# A scrape counts at most this many unpublished events (a bounded query); this value means "at least".
OUTBOX_COUNT_CAP = 100_000

log = logging.getLogger("servicekit.metrics")


class OutboxCollector:
    """``outbox_pending_events{service}`` (unpublished event_store rows, capped at OUTBOX_COUNT_CAP) and
    ``outbox_oldest_pending_seconds{service}`` (0 when none), read by ``read`` at each scrape. A failed read
    (database down) leaves both out of that scrape rather than failing /metrics."""

    def __init__(self, service: str, read: Callable[[], tuple[int, float | None]]) -> None:
        self.service = service
        self.read = read

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(self._families())

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            pending, age = self.read()
        except Exception as exc:  # noqa: BLE001 - a scrape reports what it can
            log.warning("outbox backlog not readable", extra={"error": f"{type(exc).__name__}: {exc}"})
            return iter(())
        return iter(self._families(pending, age or 0.0))

    def _families(self, pending: int | None = None, age: float | None = None) -> list[GaugeMetricFamily]:
        count = GaugeMetricFamily("outbox_pending_events", "Events stored and not yet published to Kafka",
                                  labels=["service"])
        oldest = GaugeMetricFamily("outbox_oldest_pending_seconds", "Age of the oldest unpublished event",
                                   labels=["service"])
        if pending is not None and age is not None:
            count.add_metric([self.service], pending)
            oldest.add_metric([self.service], age)
        return [count, oldest]


def render(*collectors: OutboxCollector) -> tuple[bytes, str]:
    """The exposition: this process's metrics (every worker's under PROMETHEUS_MULTIPROC_DIR), then what the
    given collectors read now."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        body = generate_latest(registry)
    else:
        from prometheus_client import REGISTRY

        body = generate_latest(REGISTRY)
    if collectors:
        now = CollectorRegistry()
        for collector in collectors:
            now.register(collector)
        body += generate_latest(now)
    return body, CONTENT_TYPE_LATEST
