"""Tracing switched on only by an OTLP endpoint, and log lines that carry the current span's trace id."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from opentelemetry.sdk.trace import TracerProvider

from servicekit import logs, tracing
from shared_events import new_envelope
from shared_events import tracing as event_tracing


@pytest.fixture
def spans_on() -> Iterator[TracerProvider]:
    """Tracing switched on in this process with a provider of its own (nothing exported)."""
    provider = TracerProvider()
    event_tracing.enable()
    try:
        yield provider
    finally:
        event_tracing.enable(False)


def _line(message: str) -> dict:
    record = logging.LogRecord("test", logging.INFO, __file__, 1, message, None, None)
    return json.loads(logs._Formatter("order-service").format(record))


def test_without_an_otlp_endpoint_nothing_is_traced(monkeypatch):
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
    assert tracing.endpoint() is None
    assert tracing.configure("order-service") is False
    assert not tracing.enabled()


def test_otel_sdk_disabled_wins_over_an_endpoint(monkeypatch):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    assert tracing.endpoint() is None


def test_a_log_line_inside_a_span_carries_its_trace_and_span_ids(spans_on):
    with spans_on.get_tracer("test").start_as_current_span("work") as span:
        line = _line("inside")
    ctx = span.get_span_context()
    assert line["trace_id"] == f"{ctx.trace_id:032x}" and line["span_id"] == f"{ctx.span_id:016x}"
    assert "trace_id" not in _line("outside")


def test_with_tracing_off_a_log_line_and_an_outbox_row_carry_no_trace(spans_on):
    event_tracing.enable(False)
    env = new_envelope("OrderConfirmed", "order-1", 2, {}, producer="order-service", shop_id="shop-1",
                       occurred_at=datetime.now(UTC))
    with spans_on.get_tracer("test").start_as_current_span("work"):
        assert "trace_id" not in _line("inside")
        assert event_tracing.stored_context(env) == (None, None)


def test_an_event_recorded_in_a_span_stores_it_as_a_w3c_traceparent_that_a_record_header_carries_back(spans_on):
    env = new_envelope("OrderConfirmed", "order-1", 2, {}, producer="order-service", shop_id="shop-1",
                       occurred_at=datetime.now(UTC))
    with spans_on.get_tracer("test").start_as_current_span("work") as span:
        tp, ts = event_tracing.stored_context(env)
    ctx = span.get_span_context()
    assert tp == f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{int(ctx.trace_flags):02x}" and ts is None
    assert ctx.trace_flags.sampled
    back = event_tracing.context_of([("event_type", b"OrderConfirmed"), *event_tracing.headers(tp, ts)])
    assert back is not None and (back.trace_id, back.span_id) == (ctx.trace_id, ctx.span_id)
