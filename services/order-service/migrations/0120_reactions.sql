-- order-service reaction state: what the live consumer has decided and still has to do.
-- Not projections (a rebuild does not touch them): they hold decisions, not facts.

-- Every OrderDue seen, and what became of it. The opening batch of a cycle is placed when
-- OrderCycleOpened.due_count dues with reason cycle_opened are recorded here.
CREATE TABLE IF NOT EXISTS order_dues (
    subscription_id text        NOT NULL,
    order_cycle_id  text        NOT NULL,
    shop_id         text        NOT NULL,
    customer_id     text        NOT NULL,
    reason          text        NOT NULL,
    late            boolean     NOT NULL,
    opens_at        timestamptz NOT NULL,
    closes_at       timestamptz NOT NULL,
    due_at          timestamptz NOT NULL,
    event_id        uuid        NOT NULL,
    state           text        NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'placed', 'skipped')),
    skipped_because text,
    PRIMARY KEY (subscription_id, order_cycle_id)
);
CREATE INDEX IF NOT EXISTS order_dues_pending ON order_dues (order_cycle_id) WHERE state <> 'placed';

-- One row per cycle: the opening batch's counter, and whether the batch and the close were handled.
CREATE TABLE IF NOT EXISTS cycle_batches (
    order_cycle_id text PRIMARY KEY,
    shop_id        text        NOT NULL,
    due_count      integer,
    dues_recorded  integer     NOT NULL DEFAULT 0,
    placed_at      timestamptz,
    confirmed_at   timestamptz
);

-- Placement and confirmation runs, for the shop's summary emails. A batch run (the cycle's opening,
-- its close) is one run; single placements in the middle of a cycle join an open run that collects
-- them for run_window_s. A confirmation run's summary waits for every card payment's first outcome
-- (awaiting = 0) or its deadline.
CREATE TABLE IF NOT EXISTS runs (
    run_id          uuid PRIMARY KEY,
    kind            text        NOT NULL CHECK (kind IN ('placement', 'confirmation')),
    shop_id         text        NOT NULL,
    order_cycle_id  text        NOT NULL,
    batch           boolean     NOT NULL,
    started_at      timestamptz NOT NULL,  -- the triggering event's time
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    window_ends_at  timestamptz NOT NULL,  -- wall clock: joins and summary not before this
    deadline_at     timestamptz NOT NULL,  -- wall clock: summary at the latest then
    awaiting        integer     NOT NULL DEFAULT 0,
    errors          jsonb       NOT NULL DEFAULT '[]',
    skipped         integer     NOT NULL DEFAULT 0,
    summary_id      uuid,
    summarised_at   timestamptz
);
CREATE INDEX IF NOT EXISTS runs_open ON runs (shop_id, order_cycle_id, kind) WHERE summary_id IS NULL;

CREATE TABLE IF NOT EXISTS run_orders (
    run_id        uuid    NOT NULL,
    order_id      text    NOT NULL,
    needs_outcome boolean NOT NULL DEFAULT false,
    outcome       text,
    PRIMARY KEY (run_id, order_id)
);
CREATE INDEX IF NOT EXISTS run_orders_by_order ON run_orders (order_id) WHERE needs_outcome;

-- Emails to send, written in the same transaction as what they tell; the notifier sends each once.
-- notification_id is derived from what is told (kind + order/payment/run), so a redelivered
-- trigger cannot add a second row; the Message-ID is derived from it too.
CREATE TABLE IF NOT EXISTS notifications (
    notification_id uuid PRIMARY KEY,
    seq             bigserial   NOT NULL,
    kind            text        NOT NULL,
    recipient       text        NOT NULL CHECK (recipient IN ('customer', 'shop_contact', 'shop_owner')),
    shop_id         text        NOT NULL,
    customer_id     text,
    order_id        text,
    event_id        uuid,        -- our event the email is about (its payload is the email's snapshot)
    payload         jsonb       NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    last_error      text,
    sent_at         timestamptz,
    failed_at       timestamptz,
    to_address      text,
    message_id      text
);
CREATE INDEX IF NOT EXISTS notifications_unsent ON notifications (next_attempt_at, seq)
    WHERE sent_at IS NULL AND failed_at IS NULL;
CREATE INDEX IF NOT EXISTS notifications_by_order ON notifications (order_id);

CREATE OR REPLACE FUNCTION notifications_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('notifications', '');
    RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS notifications_notify ON notifications;
CREATE TRIGGER notifications_notify AFTER INSERT ON notifications
    FOR EACH STATEMENT EXECUTE FUNCTION notifications_notify();

-- Human order numbers (R + 8 digits); gaps are harmless.
CREATE SEQUENCE IF NOT EXISTS order_numbers;
