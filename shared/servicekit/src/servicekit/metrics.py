"""Prometheus metrics. Under gunicorn with several workers set PROMETHEUS_MULTIPROC_DIR
(the devstack and the Kubernetes manifests do) and /metrics aggregates every worker.

The outbox's backlog is not a counter any process keeps: ``OutboxCollector`` reads it from the service's
database when /metrics is scraped, so it is true whether the relay runs, stands by, is stuck or is down. The
consumer group's lag likewise: ``ConsumerLagCollector`` asks Kafka at each scrape how far the group's committed
offsets are behind the ends of its topics, so it grows while every consumer of the group is stopped or stuck.

The alerts that read these metrics: deploy/prometheus/alerts.yaml (docs/operations.md, "Alerts")."""

from __future__ import annotations

import logging
import os
import time
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


class ConsumerLagCollector:
    """``consumer_lag_records{group, topic}``: records of ``topic`` (its logical name) not yet committed by the
    consumer group, summed over its partitions, for each topic the group has committed on (a topic it has never
    committed on shows once it has), read by ``read`` at each scrape (topic -> lag; None while the group
    has committed nothing). A failed read (Kafka down) leaves it out of that scrape rather than failing /metrics."""

    def __init__(self, group: str, read: Callable[[], dict[str, int] | None]) -> None:
        self.group = group
        self.read = read

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(self._families())

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            lags = self.read()
        except Exception as exc:  # noqa: BLE001 - a scrape reports what it can
            log.warning("consumer lag not readable", extra={"error": f"{type(exc).__name__}: {exc}"})
            return iter(())
        return iter(self._families(lags or {}))

    def _families(self, lags: dict[str, int] | None = None) -> list[GaugeMetricFamily]:
        lag = GaugeMetricFamily("consumer_lag_records", "Records of a topic not yet committed by the consumer group",
                                labels=["group", "topic"])
        for topic, n in sorted((lags or {}).items()):
            lag.add_metric([self.group, topic], n)
        return [lag]


def kafka_group_lag(group: str, bootstrap: str | None, timeout: float = 1.5,
                    back_off_s: float = 30) -> Callable[[], dict[str, int] | None]:
    """A reader for ``ConsumerLagCollector``: the group's lag per logical topic on the platform's event topics it
    has committed on, from Kafka (``shared_events.kafka.GroupLag``, kept for the process's scrapes). Kafka's
    answers are each awaited ``timeout`` seconds at most, and after a failure the next ``back_off_s`` seconds of
    scrapes do not ask again: while Kafka is unreachable /metrics still answers within a scrape timeout, with the
    outbox backlog that grows meanwhile."""
    from shared_events import kafka as kafka_clients
    from shared_events.topics import event_topics, logical, physical

    lag: list[kafka_clients.GroupLag] = []
    quiet_until = [0.0]

    def read() -> dict[str, int] | None:
        if time.monotonic() < quiet_until[0]:
            raise TimeoutError("Kafka did not answer a recent scrape")
        try:
            return ask()
        except Exception:
            quiet_until[0] = time.monotonic() + back_off_s
            raise

    def ask() -> dict[str, int] | None:
        if not lag:
            lag.append(kafka_clients.GroupLag(bootstrap, group, **{"client.id": f"{group}-lag-metrics"}))
        found = lag[0].read([physical(t.name) for t in event_topics()], timeout=timeout,
                             committed_topics_only=True)
        if found is None:
            return None
        by_topic: dict[str, int] = {}
        for tp, n in found.items():
            by_topic[logical(tp.topic)] = by_topic.get(logical(tp.topic), 0) + n
        return by_topic

    return read


def render(*collectors: OutboxCollector | ConsumerLagCollector) -> tuple[bytes, str]:
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
