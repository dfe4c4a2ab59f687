-- scheduler-service: its own tables (the platform's event_store, inbox, api_tokens and
-- idempotency_keys come from shared_events and servicekit and are applied first).
--
-- Projections (rebuildable from shops/schedules/subscriptions/identity events and the service's own
-- scheduler.events): shops, order_cycles, schedules, schedule_cycles, subscriptions, skipped_occurrences,
-- cycle_boundaries. Operational (not rebuildable, never compared): boundary_runs.

CREATE TABLE IF NOT EXISTS shops (
    shop_id               text    PRIMARY KEY,
    timezone              text    NOT NULL,
    subscriptions_enabled boolean NOT NULL,          -- the kill switch
    late_placement        text    NOT NULL CHECK (late_placement IN ('while_open', 'always')),
    version               integer NOT NULL
);

CREATE TABLE IF NOT EXISTS order_cycles (
    order_cycle_id text        PRIMARY KEY,
    shop_id        text        NOT NULL,
    name           text        NOT NULL,
    opens_at       timestamptz NOT NULL,
    closes_at      timestamptz NOT NULL,
    defined_at     timestamptz NOT NULL,             -- occurred_at of the event that last set the times
    open_fires_at  timestamptz,                      -- NULL: never opens (its window was over when defined)
    close_fires_at timestamptz NOT NULL,
    deleted        boolean     NOT NULL,
    version        integer     NOT NULL
);
CREATE INDEX IF NOT EXISTS order_cycles_by_shop ON order_cycles (shop_id);

CREATE TABLE IF NOT EXISTS schedules (
    schedule_id text    PRIMARY KEY,
    shop_id     text    NOT NULL,
    deleted     boolean NOT NULL,
    version     integer NOT NULL
);

-- one cycle may belong to several schedules
CREATE TABLE IF NOT EXISTS schedule_cycles (
    schedule_id    text NOT NULL,
    order_cycle_id text NOT NULL,
    PRIMARY KEY (schedule_id, order_cycle_id)
);
CREATE INDEX IF NOT EXISTS schedule_cycles_by_cycle ON schedule_cycles (order_cycle_id);

CREATE TABLE IF NOT EXISTS subscriptions (
    subscription_id text        PRIMARY KEY,
    shop_id         text        NOT NULL,
    customer_id     text        NOT NULL,
    schedule_id     text        NOT NULL,
    begins_at       timestamptz,
    ends_at         timestamptz,
    paused          boolean     NOT NULL,
    cancelled       boolean     NOT NULL,
    created_at      timestamptz NOT NULL,            -- occurred_at of SubscriptionCreated: first come first
    version         integer     NOT NULL
);
CREATE INDEX IF NOT EXISTS subscriptions_by_schedule ON subscriptions (schedule_id, created_at, subscription_id)
    WHERE NOT cancelled;
CREATE INDEX IF NOT EXISTS subscriptions_by_shop ON subscriptions (shop_id) WHERE NOT cancelled;

CREATE TABLE IF NOT EXISTS skipped_occurrences (
    subscription_id text NOT NULL,
    order_cycle_id  text NOT NULL,
    PRIMARY KEY (subscription_id, order_cycle_id)
);

-- A cycle's boundaries the scheduler has emitted (projection of its own OrderCycleOpened/Closed, written
-- in the transaction that stores the event). The primary key is one of the two keys that make a boundary
-- happen once; the other is the outbox's (topic, aggregate_id, aggregate_version).
CREATE TABLE IF NOT EXISTS cycle_boundaries (
    order_cycle_id   text             NOT NULL,
    kind             text             NOT NULL CHECK (kind IN ('open', 'close')),
    shop_id          text             NOT NULL,
    opens_at         timestamptz      NOT NULL,
    closes_at        timestamptz      NOT NULL,
    boundary_at      timestamptz      NOT NULL,
    emitted_at       timestamptz      NOT NULL,
    lateness_seconds double precision NOT NULL,
    due_count        integer,
    event_id         uuid             NOT NULL,
    PRIMARY KEY (order_cycle_id, kind)
);
CREATE INDEX IF NOT EXISTS cycle_boundaries_recent ON cycle_boundaries (boundary_at DESC, order_cycle_id, kind);

-- Who processed a boundary and how it went, for operators (wall-clock lag, dues not placed).
CREATE TABLE IF NOT EXISTS boundary_runs (
    order_cycle_id text             NOT NULL,
    kind           text             NOT NULL,
    worker         text             NOT NULL,
    lag_seconds    double precision NOT NULL,       -- wall seconds from the boundary to this commit
    not_due        integer          NOT NULL,
    late_skipped   integer          NOT NULL,
    started_at     timestamptz      NOT NULL,
    finished_at    timestamptz      NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (order_cycle_id, kind)
);

-- Wake the tickers when what decides the next boundary changes.
CREATE OR REPLACE FUNCTION scheduler_wakeup() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('scheduler_wakeup', '');
    RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS order_cycles_wakeup ON order_cycles;
CREATE TRIGGER order_cycles_wakeup AFTER INSERT OR UPDATE OR DELETE ON order_cycles
    FOR EACH STATEMENT EXECUTE FUNCTION scheduler_wakeup();
DROP TRIGGER IF EXISTS cycle_boundaries_wakeup ON cycle_boundaries;
CREATE TRIGGER cycle_boundaries_wakeup AFTER INSERT OR DELETE ON cycle_boundaries
    FOR EACH STATEMENT EXECUTE FUNCTION scheduler_wakeup();
