-- Every service's own events: the transactional outbox, kept as the service's event store.
-- A command writes its events here in the same transaction as its projection rows;
-- the relay publishes rows in position order and stamps published_at.
CREATE TABLE IF NOT EXISTS event_store (
    position          bigserial PRIMARY KEY,
    event_id          uuid        NOT NULL UNIQUE,
    topic             text        NOT NULL,           -- logical topic, e.g. orders.events
    aggregate_id      text        NOT NULL,           -- also the Kafka key
    aggregate_version integer     NOT NULL CHECK (aggregate_version > 0),
    event_type        text        NOT NULL,
    occurred_at       timestamptz NOT NULL,
    body              bytea       NOT NULL,           -- the exact bytes sent to Kafka
    stored_at         timestamptz NOT NULL DEFAULT clock_timestamp(),  -- wall clock, for outbox age
    published_at      timestamptz,
    -- optimistic concurrency: two writers of the same aggregate version cannot both commit
    CONSTRAINT event_store_aggregate_version UNIQUE (topic, aggregate_id, aggregate_version)
);
CREATE INDEX IF NOT EXISTS event_store_unpublished ON event_store (position) WHERE published_at IS NULL;
CREATE INDEX IF NOT EXISTS event_store_by_aggregate ON event_store (aggregate_id, aggregate_version);

CREATE OR REPLACE FUNCTION event_store_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('event_store', '');
    RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS event_store_notify ON event_store;
CREATE TRIGGER event_store_notify AFTER INSERT ON event_store
    FOR EACH STATEMENT EXECUTE FUNCTION event_store_notify();

-- Idempotent consumer: one row per (consumer, event) applied, in the same transaction as its effect.
CREATE TABLE IF NOT EXISTS inbox (
    consumer     text        NOT NULL,
    event_id     uuid        NOT NULL,
    topic        text        NOT NULL,
    partition    integer     NOT NULL,
    "offset"     bigint      NOT NULL,
    outcome      text        NOT NULL CHECK (outcome IN ('applied', 'dead_lettered')),
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);
