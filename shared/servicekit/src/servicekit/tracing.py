"""OpenTelemetry for a service's processes: traces exported over OTLP/HTTP, only when an endpoint is configured.

``configure(service)`` runs in every process (``servicekit.logs.configure`` calls it). With
``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) set, and ``OTEL_SDK_DISABLED`` not
true, it installs the SDK's tracer provider (a batch span processor, the OTLP/HTTP protobuf exporter, which reads
the other standard ``OTEL_EXPORTER_OTLP_*``/``OTEL_BSP_*`` variables itself), the psycopg and requests (the stripe
SDK's HTTP client) instrumentations, and switches ``shared_events.tracing`` on: outbox rows keep their trace
context, the relay sends it as record headers, the consumers continue it. The Flask apps are instrumented by
``servicekit.web.app.create_base_app`` (``instrument_app``). Without an endpoint nothing is installed: the API's
no-op tracer, no trace context stored or sent, and log lines without trace ids.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from shared_events import tracing as event_tracing

log = logging.getLogger("servicekit.tracing")

_configured: str | None = None


def endpoint() -> str | None:
    """The OTLP endpoint traces go to, if any."""
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    return (os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
            or None)


def enabled() -> bool:
    return event_tracing.ENABLED


def configure(service: str) -> bool:
    """Export this process's spans as ``service`` if an endpoint is configured (once per process); True if so."""
    global _configured  # one tracer provider per process
    if _configured is not None:
        return True
    where = endpoint()
    if where is None:
        return False
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
    from opentelemetry.instrumentation.requests import RequestsInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    PsycopgInstrumentor().instrument(tracer_provider=provider, skip_dep_check=True)
    RequestsInstrumentor().instrument(tracer_provider=provider)
    event_tracing.enable()
    _configured = service
    log.info("traces exported over OTLP", extra={"endpoint": where})
    return True


def instrument_app(app: Any) -> None:
    """A span per request (and the caller's traceparent continued) when tracing is on."""
    if not enabled():
        return
    from opentelemetry.instrumentation.flask import FlaskInstrumentor

    FlaskInstrumentor().instrument_app(app, excluded_urls="/healthz,/readyz,/metrics,/docs")


def current_ids() -> tuple[str, str] | None:
    """(trace id, span id) of the current span, in hex, for log lines; None when tracing is off or outside one."""
    if not event_tracing.ENABLED:
        return None
    from opentelemetry import trace

    ctx = trace.get_current_span().get_span_context()
    return (f"{ctx.trace_id:032x}", f"{ctx.span_id:016x}") if ctx.is_valid else None
