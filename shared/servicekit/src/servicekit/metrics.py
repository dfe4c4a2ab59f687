"""Prometheus metrics. Under gunicorn with several workers set PROMETHEUS_MULTIPROC_DIR
(the devstack and the Kubernetes manifests do) and /metrics aggregates every worker."""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

REQUESTS = Counter("http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram("http_request_duration_seconds", "HTTP request latency", ["method", "route"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
EVENTS_CONSUMED = Counter("events_consumed_total", "Events applied by a consumer", ["consumer", "outcome"])
EVENTS_PUBLISHED = Counter("events_published_total", "Events published by the outbox relay", ["service"])
OUTBOX_PENDING = Gauge("outbox_pending_events", "Events not yet published", ["service"], multiprocess_mode="max")
OUTBOX_AGE = Gauge("outbox_oldest_pending_seconds", "Age of the oldest unpublished event", ["service"],
                   multiprocess_mode="max")


def render() -> tuple[bytes, str]:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    from prometheus_client import REGISTRY

    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
