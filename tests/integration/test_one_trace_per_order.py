"""One trace per order (issue 26): the four services as processes exporting their spans over OTLP/HTTP to a
receiver in the test (devstack.otlp_sink), on real Kafka, PostgreSQL and localstripe. A subscription's creation,
its OrderDue at the cycle's open, the order's placement, its confirmation at the close and the Stripe charge are
one trace, each step's span the child of the step before it, across the outbox rows and the Kafka headers."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from devstack.otlp_sink import OtlpSink, Span
from devstack.scenario import CARD_OK, ApiError, Platform
from devstack.stack import SERVICES
from devstack.testing import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

SERVER, CLIENT, PRODUCER, CONSUMER = 2, 3, 4, 5  # opentelemetry.proto.trace.v1.Span.SpanKind


@pytest.fixture(scope="module")
def traced(infra) -> Iterator[tuple[Platform, OtlpSink]]:
    """The services restarted with OTEL_EXPORTER_OTLP_ENDPOINT on the test's receiver (spans sent every 200 ms),
    and restarted as they were afterwards."""
    stack = infra.stack
    sink = OtlpSink().start()
    was_running = any(stack.procs.running(n) for svc in SERVICES for n in stack.process_names(svc))
    settings = {"OTEL_EXPORTER_OTLP_ENDPOINT": sink.endpoint, "OTEL_BSP_SCHEDULE_DELAY": "200"}
    saved = {k: os.environ.get(k) for k in settings}
    stack.stop_services()
    os.environ.update(settings)
    try:
        stack.migrate()
        stack.start_services()
        yield Platform.from_stack(stack), sink
    finally:
        stack.stop_services()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        sink.stop()
        if was_running:
            stack.start_services()


def _payment(shop: Any, order_id: str) -> dict[str, Any] | None:
    try:
        found = shop.billing().get(f"{shop.base}/orders/{order_id}/payments")
    except ApiError:
        return None
    items = found["items"] if isinstance(found, dict) else found
    return items[0] if items and items[0]["status"] == "succeeded" else None


def _one(spans: list[Span], service: str, name: str, **attributes: Any) -> Span:
    found = [s for s in spans if s.service == service and s.name == name
             and all(s.attributes.get(k) == v for k, v in attributes.items())]
    assert len(found) == 1, (service, name, attributes, [(s.service, s.name) for s in spans])
    return found[0]


def test_a_subscription_its_due_its_order_confirmation_and_charge_are_one_trace_each_step_the_child_of_the_last(
        traced, one_cycle_shop, subscribe):
    platform, sink = traced
    s = one_cycle_shop(platform, "Traced hub", payment="stripe", closes_after=timedelta(days=2))
    shop, cycle = s.shop, s.cycle
    customer = shop.customer("Tracy", "Trace", card=CARD_OK)
    subscription = subscribe(shop, customer, s.schedule["id"], s.ship["id"], s.pay["id"], s.now)

    platform.advance_to(datetime.fromisoformat(cycle["opens_at"]) + timedelta(minutes=1))
    [order] = shop.wait_orders(1, order_cycle_id=cycle["id"])
    platform.advance_to(datetime.fromisoformat(cycle["closes_at"]) + timedelta(minutes=1))
    wait_for(lambda: _payment(shop, order["order_id"]), 60, "the order's charge to succeed")

    sub_id, order_id = subscription["id"], order["order_id"]
    due_key = f"{sub_id}:{cycle['id']}"

    def flow() -> dict[str, Span] | None:
        spans = sink.spans()
        try:
            created = next(s for s in spans if s.service == "subscription-service" and s.kind == SERVER
                           and s.name.startswith("POST") and s.name.endswith("/subscriptions"))
            trace = [s for s in spans if s.trace_id == created.trace_id]
            steps = {
                "created": created,
                "seen by the scheduler": _one(trace, "scheduler-service", "process SubscriptionCreated"),
                "due at the open": _one(trace, "scheduler-service", "record OrderDue", **{"event.subject": sub_id}),
                "due in order-service": _one(trace, "order-service", "process OrderDue"),
                "placed": _one(trace, "order-service", "record OrderPlaced", **{"event.subject": due_key}),
                "confirmed": _one(trace, "order-service", "record OrderConfirmed", **{"event.subject": order_id}),
                "payment requested": _one(trace, "billing-service", "process PaymentRequested"),
                "charged": _one(trace, "billing-service", "charge payment"),
                "stripe": next(s for s in trace if s.service == "billing-service" and s.kind == CLIENT
                               and "/v1/payment_intents" in str(s.attributes.get("url.full")
                                                                or s.attributes.get("http.url"))),
            }
            steps["open"] = next(s for s in spans if s.service == "scheduler-service" and s.name == "open order cycle"
                                 and s.attributes.get("order_cycle_id") == cycle["id"])
            steps["close processed"] = next(
                s for s in spans if s.service == "order-service" and s.name == "process OrderCycleClosed"
                and s.attributes.get("event.aggregate_id") == cycle["id"])
        except (StopIteration, AssertionError):
            return None
        return steps

    steps = wait_for(flow, 30, "the flow's spans to reach the receiver")
    by_id = {s.span_id: s for s in sink.spans() if s.trace_id == steps["created"].trace_id}

    def ancestors(span: Span) -> list[str]:
        out = []
        while span.parent_span_id in by_id:
            span = by_id[span.parent_span_id]
            out.append(span.span_id)
        return out

    created = steps["created"]
    assert created.parent_span_id == "", "the manager's request starts the trace"
    assert created.span_id in ancestors(steps["seen by the scheduler"]), "recorded in the request's span"
    for child, parent in [("due at the open", "seen by the scheduler"), ("due in order-service", "due at the open"),
                          ("placed", "due in order-service"), ("confirmed", "placed"),
                          ("payment requested", "confirmed"), ("charged", "payment requested")]:
        assert steps[child].parent_span_id == steps[parent].span_id, (child, parent)
    assert steps["charged"].span_id in ancestors(steps["stripe"]), "the stripe SDK's request is in the charge"
    assert steps["stripe"].kind == CLIENT and steps["created"].kind == SERVER
    assert steps["seen by the scheduler"].kind == CONSUMER and steps["due at the open"].kind == PRODUCER
    # the clock's work is a trace of its own, linked from the steps it set off
    assert steps["open"].trace_id != created.trace_id
    assert (steps["open"].trace_id, steps["open"].span_id) in steps["due at the open"].links
    assert (steps["close processed"].trace_id, steps["close processed"].span_id) in steps["confirmed"].links
