-- billing-service: its own tables (the platform's event_store, inbox, api_tokens and
-- idempotency_keys come from shared_events and servicekit and are applied first).
--
-- Two kinds of table:
-- * projections (rebuildable from the topics, entrypoints/rebuild.py): shops, customers, orders (context
--   from shops/customers/orders.events) and payments, payment_attempts, refunds (from billing.events);
-- * working state of live processes, never rebuilt: charge_calls (what the charger sent to Stripe),
--   refund_requests (refunds asked of Stripe), stripe_events (webhook ids already processed).

-- ---------------------------------------------------------------- context projections

CREATE TABLE IF NOT EXISTS shops (
    shop_id            text PRIMARY KEY,
    name               text,
    currency           text,
    timezone           text,
    stripe_account_id  text,
    retry_delays_hours integer[],  -- NULL: the platform default policy
    retry_max_attempts integer,
    version            integer NOT NULL
);

CREATE TABLE IF NOT EXISTS customers (
    customer_id                text PRIMARY KEY,
    shop_id                    text    NOT NULL,
    email                      text,
    stripe_customer_id         text,
    payment_method_id          text,  -- the default card (a Stripe PaymentMethod)
    charges_allowed            boolean NOT NULL DEFAULT false,
    allowed_payment_method_id  text,  -- the card the permission was given for
    deleted                    boolean NOT NULL DEFAULT false,
    version                    integer NOT NULL
);

CREATE TABLE IF NOT EXISTS orders (
    order_id        text PRIMARY KEY,
    shop_id         text    NOT NULL,
    customer_id     text    NOT NULL,
    subscription_id text    NOT NULL,
    order_cycle_id  text    NOT NULL,
    number          text,
    status          text    NOT NULL,  -- placed | empty | confirmed | cancelled
    currency        text,
    total           integer,
    payment_kind    text,
    version         integer NOT NULL
);
CREATE INDEX IF NOT EXISTS orders_by_cycle ON orders (shop_id, order_cycle_id);

-- ---------------------------------------------------------------- payments (from billing.events)

CREATE TABLE IF NOT EXISTS payments (
    payment_id               text PRIMARY KEY,
    order_id                 text        NOT NULL,
    shop_id                  text        NOT NULL,
    customer_id              text        NOT NULL,
    order_number             text,
    method                   text        NOT NULL CHECK (method IN ('cash', 'stripe')),
    amount                   integer     NOT NULL CHECK (amount > 0),
    currency                 text        NOT NULL,
    status                   text        NOT NULL CHECK (status IN ('pending', 'processing', 'requires_action',
                                                                    'failed', 'succeeded', 'paid', 'refunded')),
    attempts                 integer     NOT NULL DEFAULT 0,
    collected_amount         integer     NOT NULL DEFAULT 0,  -- charged by Stripe or marked paid
    collected_by             text CHECK (collected_by IN ('stripe', 'manual')),
    amount_refunded          integer     NOT NULL DEFAULT 0 CHECK (amount_refunded <= collected_amount),
    failure_code             text,
    decline_code             text,
    failure_message          text,
    retryable                boolean,
    final                    boolean,
    next_attempt_at          timestamptz,
    stripe_payment_intent_id text,
    stripe_charge_id         text,
    authorization_url        text,
    paid_note                text,
    created_at               timestamptz NOT NULL,
    updated_at               timestamptz NOT NULL,
    version                  integer     NOT NULL,
    -- one payment per order, whatever replays or redeliveries happen
    CONSTRAINT payments_one_per_order UNIQUE (order_id)
);
CREATE INDEX IF NOT EXISTS payments_by_shop ON payments (shop_id, created_at, payment_id);
CREATE INDEX IF NOT EXISTS payments_retry_due ON payments (next_attempt_at) WHERE status = 'failed' AND NOT final;

CREATE TABLE IF NOT EXISTS payment_attempts (
    payment_id               text        NOT NULL REFERENCES payments (payment_id) DEFERRABLE INITIALLY DEFERRED,
    order_id                 text        NOT NULL,
    attempt                  integer     NOT NULL CHECK (attempt > 0),
    idempotency_key          text        NOT NULL,
    amount                   integer     NOT NULL,
    status                   text        NOT NULL CHECK (status IN ('started', 'requires_action', 'succeeded',
                                                                    'failed', 'canceled')),
    started_by               text        NOT NULL,  -- system | manager | admin
    stripe_payment_intent_id text,
    stripe_charge_id         text,
    code                     text,
    decline_code             text,
    message                  text,
    started_at               timestamptz NOT NULL,
    finished_at              timestamptz,
    PRIMARY KEY (payment_id, attempt),
    -- the attempt's Stripe idempotency key, and (order, attempt), are unique
    CONSTRAINT payment_attempts_key UNIQUE (idempotency_key),
    CONSTRAINT payment_attempts_order_attempt UNIQUE (order_id, attempt)
);
CREATE INDEX IF NOT EXISTS payment_attempts_open ON payment_attempts (started_at) WHERE status = 'started';
CREATE INDEX IF NOT EXISTS payment_attempts_by_intent ON payment_attempts (stripe_payment_intent_id);

CREATE TABLE IF NOT EXISTS refunds (
    refund_id        text PRIMARY KEY,
    payment_id       text        NOT NULL REFERENCES payments (payment_id) DEFERRABLE INITIALLY DEFERRED,
    amount           integer     NOT NULL CHECK (amount > 0),
    total_refunded   integer     NOT NULL,
    currency         text        NOT NULL,
    stripe_refund_id text,
    actor_type       text,
    actor_id         text,
    reason           text,
    created_at       timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS refunds_by_payment ON refunds (payment_id, created_at);

-- ---------------------------------------------------------------- working state (not rebuilt)

-- What the charger sent to Stripe for an attempt. A row with calls > 0 and the attempt still 'started'
-- means the outcome is unknown (a crash between the call and the commit): reconcile before calling again.
-- The parameters of the first call are kept so that a resend with the same idempotency key is identical.
CREATE TABLE IF NOT EXISTS charge_calls (
    idempotency_key text PRIMARY KEY,
    payment_id      text        NOT NULL,
    attempt         integer     NOT NULL,
    params          jsonb,
    stripe_account  text,
    calls           integer     NOT NULL DEFAULT 0,
    first_seen_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    last_call_at    timestamptz,
    not_before      timestamptz,  -- wall clock: look again after this (customer unknown yet, intent processing)
    finished_at     timestamptz
);

-- A refund asked of Stripe, committed before the call (so a concurrent refund counts it, and a crash
-- before the PaymentRefunded event is reconciled with Stripe instead of being lost or repeated).
CREATE TABLE IF NOT EXISTS refund_requests (
    refund_id        text PRIMARY KEY,
    payment_id       text        NOT NULL,
    amount           integer     NOT NULL CHECK (amount > 0),
    status           text        NOT NULL CHECK (status IN ('requested', 'succeeded', 'failed')),
    stripe_refund_id text,
    actor            jsonb,
    reason           text,
    requested_at     timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX IF NOT EXISTS refund_requests_open ON refund_requests (payment_id) WHERE status = 'requested';

-- Stripe webhook events already processed (each id once).
CREATE TABLE IF NOT EXISTS stripe_events (
    event_id    text PRIMARY KEY,
    type        text        NOT NULL,
    outcome     text        NOT NULL,
    received_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- Wake the charger as soon as an attempt is recorded.
CREATE OR REPLACE FUNCTION billing_attempt_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('billing_attempts', '');
    RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS billing_attempt_notify ON payment_attempts;
CREATE TRIGGER billing_attempt_notify AFTER INSERT ON payment_attempts
    FOR EACH STATEMENT EXECUTE FUNCTION billing_attempt_notify();
