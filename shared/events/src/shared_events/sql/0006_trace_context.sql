-- One trace per order (shared_events.tracing): each outbox row keeps the W3C trace context of the span it was
-- recorded in, sent as its Kafka record's traceparent/tracestate headers; NULL when tracing is off.
ALTER TABLE event_store ADD COLUMN IF NOT EXISTS traceparent text, ADD COLUMN IF NOT EXISTS tracestate text;

-- The first trace of each aggregate a service met through another service's events (the scheduler's
-- subscriptions, order-service's dues, billing's orders), so that work the clock starts later continues it.
-- Written only while tracing is on.
CREATE TABLE IF NOT EXISTS trace_context (
    subject     text        PRIMARY KEY,
    traceparent text        NOT NULL,
    tracestate  text,
    recorded_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
