"""Prometheus metrics of the scheduler (served on /metrics by the API and by the ticker's WORKER_HTTP_PORT;
under PROMETHEUS_MULTIPROC_DIR the API's /metrics also aggregates the ticker's and the consumer's)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from shared_events.contracts.scheduler import MISSED_REASONS

BOUNDARY_LAG = Histogram(
    "scheduler_boundary_lag_seconds",
    "Wall seconds from an order-cycle boundary to its events being committed to the outbox (target < 1 s)",
    ["kind"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600, 86400, 7 * 86400),
)
BOUNDARIES = Counter("scheduler_boundaries_total", "Order-cycle boundaries emitted", ["kind", "on_time"])
ORDER_DUE = Counter("scheduler_order_due_total", "OrderDue events emitted", ["reason", "late"])
ORDER_DUE_MISSED = Counter(
    "scheduler_order_due_missed_total",
    "OrderDueMissed events emitted: dues processed after their cycle closed, in shops whose late_placement is "
    "while_open, so no order is placed (reason: open_processed_after_close, change_processed_after_close)",
    ["reason"])
for _reason in MISSED_REASONS:  # exported at 0 from the start, so that increase() sees the first miss
    ORDER_DUE_MISSED.labels(_reason)
PAUSE_ENDS = Counter("scheduler_pause_ends_total", "PauseEnded events emitted: pauses until a date that ended")
FAILURES = Counter("scheduler_boundary_failures_total", "Boundaries that failed and were rolled back (retried)")
OVERDUE = Gauge("scheduler_overdue_boundaries", "Boundaries whose time has come and that are not emitted yet",
                multiprocess_mode="livemax")
NEXT_BOUNDARY = Gauge("scheduler_next_boundary_seconds",
                      "Platform seconds until the next pending boundary (negative: overdue)",
                      multiprocess_mode="livemin")
