"""One trace per order: W3C trace context carried by the outbox rows and the Kafka record headers.

An event is stored with the trace context (``traceparent``, ``tracestate``) of the span it was recorded in; the
relay sends it as the record's headers; the consumer runner starts one span per record, a child of that context,
in which the handler runs, so the events a handler records carry it on. Work that no message carries from one
step to the next continues the trace of what it is about (``continuing``, ``resumed``): a service remembers the
first trace of every aggregate it met (its own events in ``event_store``, the others' in ``trace_context``), so
the scheduler's OrderDue at a cycle's open continues its subscription's trace, an order's confirmation at the
close continues the order's, and billing's Stripe call continues its payment's. The work that set them off (the
open, the close, the charger's round) is a span link.

Nothing happens unless ``enable()`` was called (servicekit.tracing does it when an OTLP endpoint is configured):
every function here first checks ``ENABLED``, so a service without tracing stores NULL and sends no header.
Only the OpenTelemetry API is used here; the SDK and the exporter are servicekit's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from contextvars import ContextVar
from typing import Any

import psycopg
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Link, NonRecordingSpan, Span, SpanContext, SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from psycopg.rows import tuple_row

from shared_events.envelope import Envelope

ENABLED = False
TRACEPARENT = "traceparent"
TRACESTATE = "tracestate"
NO_CONTEXT: tuple[None, None] = (None, None)
_NOTHING = nullcontext()

_tracer = trace.get_tracer("shared_events")
_propagator = TraceContextTextMapPropagator()
# event id -> the span context its outbox row carries (``continuing``), and a cause's event id -> the span of the
# record that caused it (the consumer's runs: a bulk handler records many events under one run span)
_chosen: ContextVar[Mapping[str, SpanContext] | None] = ContextVar("shared_events.tracing.chosen", default=None)
_causes: ContextVar[Mapping[str, SpanContext] | None] = ContextVar("shared_events.tracing.causes", default=None)


def enable(on: bool = True) -> None:
    global ENABLED  # one switch for the process, set once at its start
    ENABLED = on


def traceparent(ctx: SpanContext) -> str:
    return f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{int(ctx.trace_flags):02x}"


def _pair(ctx: SpanContext) -> tuple[str, str | None]:
    return traceparent(ctx), (ctx.trace_state.to_header() or None) if ctx.trace_state else None


def stored_context(env: Envelope) -> tuple[str | None, str | None]:
    """(traceparent, tracestate) for the outbox row of ``env``: the span chosen for it, else its cause's record span,
    else the current span; (None, None) when tracing is off or no span is current."""
    if not ENABLED:
        return NO_CONTEXT
    ctx: SpanContext | None = None
    if chosen := _chosen.get():
        ctx = chosen.get(env.event_id)
    if ctx is None and env.causation_id and (causes := _causes.get()):
        ctx = causes.get(env.causation_id)
    if ctx is None:
        ctx = trace.get_current_span().get_span_context()
    return _pair(ctx) if ctx.is_valid else NO_CONTEXT


def headers(tp: str | None, ts: str | None) -> list[tuple[str, bytes]]:
    """The record headers of a stored context (none without one)."""
    if not tp:
        return []
    return [(TRACEPARENT, tp.encode()), (TRACESTATE, ts.encode())] if ts else [(TRACEPARENT, tp.encode())]


def _parse(tp: str | None, ts: str | None) -> SpanContext | None:
    if not tp:
        return None
    carrier = {TRACEPARENT: tp, **({TRACESTATE: ts} if ts else {})}
    ctx = trace.get_current_span(_propagator.extract(carrier)).get_span_context()
    return ctx if ctx.is_valid else None


def context_of(record_headers: Iterable[tuple[str, bytes | None]] | None) -> SpanContext | None:
    """The span context a record's headers carry, if any."""
    tp = ts = None
    for key, value in record_headers or ():
        if key == TRACEPARENT and value:
            tp = value.decode("ascii", "replace")
        elif key == TRACESTATE and value:
            ts = value.decode("ascii", "replace")
    return _parse(tp, ts)


def _parent(ctx: SpanContext | None) -> otel_context.Context:
    """A context whose parent is ``ctx``; a new trace without one (never the caller's current span)."""
    return trace.set_span_in_context(NonRecordingSpan(ctx) if ctx is not None else trace.INVALID_SPAN,
                                     otel_context.Context())


def _links(*contexts: SpanContext | None) -> list[Link]:
    return [Link(c) for c in contexts if c is not None and c.is_valid]


@contextmanager
def span(name: str, attributes: Mapping[str, Any] | None = None) -> Iterator[None]:
    """A span current for the block (a new trace unless one is current); nothing when tracing is off."""
    if not ENABLED:
        yield
        return
    with _tracer.start_as_current_span(name, attributes=attributes):
        yield


# -- consumers ------------------------------------------------------------------------------------------------


def start_record_span(env: Envelope, topic: str, partition: int, offset: int, group: str,
                      record_headers: Iterable[tuple[str, bytes | None]] | None) -> Span:
    """The span of one record's processing: a child of the context its headers carry (a new trace without one)."""
    return _tracer.start_span(
        f"process {env.event_type}", context=_parent(context_of(record_headers)), kind=SpanKind.CONSUMER,
        attributes={"messaging.system": "kafka", "messaging.operation.type": "process",
                    "messaging.destination.name": topic, "messaging.destination.partition.id": str(partition),
                    "messaging.kafka.offset": offset, "messaging.consumer.group.name": group,
                    "messaging.message.id": env.event_id, "messaging.kafka.message.key": env.aggregate_id,
                    "event.type": env.event_type, "event.aggregate_id": env.aggregate_id})


@contextmanager
def run_span(name: str, spans: Mapping[str, Span]) -> Iterator[None]:
    """A span for a run of records applied together (a bulk handler), linked to each record's span; while it is
    current, an event recorded with one of those records as its cause carries that record's span."""
    contexts = {event_id: span.get_span_context() for event_id, span in spans.items()}
    with _tracer.start_as_current_span(name, kind=SpanKind.CONSUMER, context=otel_context.Context(),
                                       links=_links(*contexts.values()),
                                       attributes={"messaging.batch.message_count": len(spans)}):
        token = _causes.set(contexts)
        try:
            yield
        finally:
            _causes.reset(token)


def current(span: Span | None) -> AbstractContextManager[Any]:
    """``span`` current for the block (nothing without one: no generator made); not ended on leaving."""
    return _NOTHING if span is None else trace.use_span(span, end_on_exit=False)


def remember(conn: psycopg.Connection, subjects: Sequence[tuple[str, Span]]) -> None:
    """Keep the first trace of each aggregate this service met through another's events (subject: its id), for
    the work that continues it later (``continuing``, ``resumed``)."""
    rows = [(subject, *_pair(span.get_span_context())) for subject, span in subjects
            if span.get_span_context().is_valid]
    if not rows:
        return
    with conn.cursor() as cur:
        cur.execute("INSERT INTO trace_context (subject, traceparent, tracestate) "
                    "SELECT * FROM unnest(%s::text[], %s::text[], %s::text[]) ON CONFLICT (subject) DO NOTHING",
                    [list(col) for col in zip(*rows, strict=True)])


# -- work that continues an aggregate's trace --------------------------------------------------------------------


def first_traces(conn: psycopg.Connection, subjects: Iterable[str]) -> dict[str, SpanContext]:
    """The first trace this service knows of each subject: the first of its own events about that aggregate that
    carries one, else the one ``remember`` kept."""
    wanted = sorted(set(subjects))
    if not wanted:
        return {}
    with conn.cursor(row_factory=tuple_row) as cur:
        cur.execute("""
            SELECT DISTINCT ON (subject) subject, traceparent, tracestate FROM (
                SELECT aggregate_id AS subject, traceparent, tracestate, 0 AS source, aggregate_version AS n
                FROM event_store WHERE aggregate_id = ANY(%(s)s) AND traceparent IS NOT NULL
                UNION ALL
                SELECT subject, traceparent, tracestate, 1, 0 FROM trace_context WHERE subject = ANY(%(s)s)
            ) AS known ORDER BY subject, source, n""", {"s": wanted})
        found = {subject: _parse(tp, ts) for subject, tp, ts in cur.fetchall()}
    return {subject: ctx for subject, ctx in found.items() if ctx is not None}


def _aggregate(env: Envelope) -> str:
    return env.aggregate_id


@contextmanager
def continuing(conn: psycopg.Connection, envelopes: Sequence[Envelope],
               subject: Callable[[Envelope], str | None] = _aggregate) -> Iterator[None]:
    """Events recorded in the block continue the trace of what they are about (``subject``: the aggregate by
    default): one span per subject, a child of its first trace, linked to the current span (the work that made
    them: an open, a close), and each event's outbox row carries it. Events whose subject has no trace keep the
    current span's."""
    if not ENABLED or not envelopes:
        yield
        return
    subjects = {e.event_id: s for e in envelopes if (s := subject(e))}
    known = first_traces(conn, subjects.values())
    cause = trace.get_current_span().get_span_context()
    spans: dict[str, Span] = {}
    chosen: dict[str, SpanContext] = {}
    for env in envelopes:
        s = subjects.get(env.event_id)
        if s is None or s not in known:
            continue
        if s not in spans:
            spans[s] = _tracer.start_span(f"record {env.event_type}", context=_parent(known[s]),
                                          kind=SpanKind.PRODUCER, links=_links(cause),
                                          attributes={"event.type": env.event_type, "event.subject": s,
                                                      "messaging.destination.name": env.topic_family})
        chosen[env.event_id] = spans[s].get_span_context()
    token = _chosen.set({**(_chosen.get() or {}), **chosen})
    try:
        yield
    finally:
        _chosen.reset(token)
        for span in spans.values():
            span.end()


@contextmanager
def resumed(conn: psycopg.Connection, subject: str, name: str, attributes: Mapping[str, Any] | None = None
            ) -> Iterator[None]:
    """A span current for the block, continuing ``subject``'s first trace (a new trace without one), linked to the
    current span: e.g. billing's charge of a payment, made by the charger long after the payment was requested."""
    if not ENABLED:
        yield
        return
    known = first_traces(conn, [subject]).get(subject)
    cause = trace.get_current_span().get_span_context()
    with _tracer.start_as_current_span(name, context=_parent(known), links=_links(cause),
                                       attributes={"event.subject": subject, **(attributes or {})}):
        yield


__all__ = ["NO_CONTEXT", "TRACEPARENT", "TRACESTATE", "context_of", "continuing", "current", "enable",
           "first_traces", "headers", "remember", "resumed", "run_span", "span", "start_record_span", "stored_context",
           "traceparent"]
