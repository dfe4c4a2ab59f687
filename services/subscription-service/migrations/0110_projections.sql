-- subscription-service projections. Every row is a pure function of events (a rebuild reproduces it):
-- times come from the events, `version` is the aggregate version of the last event applied (the ETag).

-- shops.events (aggregate Shop: settings and methods)
CREATE TABLE IF NOT EXISTS shops (
    shop_id     text PRIMARY KEY,
    settings    jsonb       NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    version     integer     NOT NULL
);

CREATE TABLE IF NOT EXISTS shop_methods (
    method_id      text PRIMARY KEY,
    shop_id        text        NOT NULL,
    method_type    text        NOT NULL CHECK (method_type IN ('shipping', 'payment')),
    name           text        NOT NULL,
    description    text,
    fee_flat       bigint      NOT NULL,
    fee_percent_bp integer     NOT NULL,
    active         boolean     NOT NULL,
    pickup         boolean,
    kind           text,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    removed_at     timestamptz,
    version        integer     NOT NULL  -- the shop's version when this method last changed
);
CREATE INDEX IF NOT EXISTS shop_methods_by_shop ON shop_methods (shop_id, method_type);

-- customers.events
CREATE TABLE IF NOT EXISTS customers (
    customer_id             text PRIMARY KEY,
    shop_id                 text        NOT NULL,
    email                   text        NOT NULL,
    first_name              text        NOT NULL,
    last_name               text        NOT NULL,
    locale                  text,
    bill_address            jsonb,
    ship_address            jsonb,
    stripe_customer_id      text,
    card_payment_method_id  text,
    card_brand              text,
    card_last4              text,
    allow_charges           boolean     NOT NULL DEFAULT false,
    created_at              timestamptz NOT NULL,
    updated_at              timestamptz NOT NULL,
    deleted_at              timestamptz,
    version                 integer     NOT NULL
);
-- email unique per shop among customers not deleted: two concurrent creates cannot both win
CREATE UNIQUE INDEX IF NOT EXISTS customers_email_per_shop ON customers (shop_id, lower(email)) WHERE deleted_at IS NULL;
CREATE INDEX IF NOT EXISTS customers_by_shop ON customers (shop_id, created_at, customer_id);

-- schedules.events (aggregates OrderCycle and Schedule)
CREATE TABLE IF NOT EXISTS order_cycles (
    order_cycle_id text PRIMARY KEY,
    shop_id        text        NOT NULL,
    name           text        NOT NULL,
    opens_at       timestamptz NOT NULL,
    closes_at      timestamptz NOT NULL,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    deleted_at     timestamptz,
    version        integer     NOT NULL
);
CREATE INDEX IF NOT EXISTS order_cycles_by_shop ON order_cycles (shop_id, opens_at, order_cycle_id);

CREATE TABLE IF NOT EXISTS schedules (
    schedule_id     text PRIMARY KEY,
    shop_id         text        NOT NULL,
    name            text        NOT NULL,
    order_cycle_ids text[]      NOT NULL,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    deleted_at      timestamptz,
    version         integer     NOT NULL
);
CREATE INDEX IF NOT EXISTS schedules_by_shop ON schedules (shop_id, created_at, schedule_id);
CREATE INDEX IF NOT EXISTS schedules_by_cycle ON schedules USING gin (order_cycle_ids);

-- subscriptions.events (aggregate Subscription, including its skipped occurrences)
CREATE TABLE IF NOT EXISTS subscriptions (
    subscription_id       text PRIMARY KEY,
    shop_id               text        NOT NULL,
    customer_id           text        NOT NULL,
    schedule_id           text        NOT NULL,
    currency              text        NOT NULL,
    items                 jsonb       NOT NULL,
    shipping_method_id    text,
    payment_method_id     text,
    payment_kind          text,
    bill_address          jsonb,
    ship_address          jsonb,
    begins_at             timestamptz,
    ends_at               timestamptz,
    shipping_fee_estimate bigint,
    payment_fee_estimate  bigint,
    paused_at             timestamptz,
    cancelled_at          timestamptz,
    created_at            timestamptz NOT NULL,
    updated_at            timestamptz NOT NULL,
    version               integer     NOT NULL
);
CREATE INDEX IF NOT EXISTS subscriptions_by_shop ON subscriptions (shop_id, created_at, subscription_id);
CREATE INDEX IF NOT EXISTS subscriptions_by_customer ON subscriptions (customer_id);
CREATE INDEX IF NOT EXISTS subscriptions_by_schedule ON subscriptions (schedule_id);

CREATE TABLE IF NOT EXISTS occurrence_skips (
    subscription_id text        NOT NULL,
    order_cycle_id  text        NOT NULL,
    skipped         boolean     NOT NULL,
    changed_at      timestamptz NOT NULL,
    version         integer     NOT NULL,
    PRIMARY KEY (subscription_id, order_cycle_id)
);

-- catalog.events (the platform's variants, per shop)
CREATE TABLE IF NOT EXISTS variants (
    shop_id      text    NOT NULL,
    variant_id   text    NOT NULL,
    product_name text    NOT NULL,
    variant_name text,
    unit_price   bigint  NOT NULL,
    currency     text    NOT NULL,
    on_hand      bigint,
    available    boolean NOT NULL,
    deleted      boolean NOT NULL DEFAULT false,
    version      bigint  NOT NULL,
    PRIMARY KEY (shop_id, variant_id)
);

-- scheduler.events: an order became due for an occurrence
CREATE TABLE IF NOT EXISTS order_dues (
    subscription_id text        NOT NULL,
    order_cycle_id  text        NOT NULL,
    shop_id         text        NOT NULL,
    due_at          timestamptz NOT NULL,
    reason          text        NOT NULL,
    late            boolean     NOT NULL,
    PRIMARY KEY (subscription_id, order_cycle_id)
);

-- orders.events: the order of an occurrence
CREATE TABLE IF NOT EXISTS occurrence_orders (
    order_id         text PRIMARY KEY,
    shop_id          text        NOT NULL,
    subscription_id  text        NOT NULL,
    order_cycle_id   text        NOT NULL,
    customer_id      text        NOT NULL,
    number           text,
    status           text        NOT NULL CHECK (status IN ('placed', 'empty', 'cancelled', 'confirmed')),
    currency         text,
    item_total       bigint,
    shipping_fee     bigint,
    payment_fee      bigint,
    total            bigint,
    payment_required boolean,
    opens_at         timestamptz,
    closes_at        timestamptz,
    placed_at        timestamptz NOT NULL,
    confirmed_at     timestamptz,
    cancelled_at     timestamptz,
    cancel_cause     text,
    update_issues    jsonb       NOT NULL DEFAULT '[]',
    version          integer     NOT NULL
);
CREATE INDEX IF NOT EXISTS occurrence_orders_by_subscription ON occurrence_orders (subscription_id, order_cycle_id);

-- billing.events: the payment of an order
CREATE TABLE IF NOT EXISTS order_payments (
    payment_id        text PRIMARY KEY,
    order_id          text        NOT NULL,
    shop_id           text        NOT NULL,
    status            text        NOT NULL,
    amount            bigint,
    currency          text,
    method            text,
    attempt           integer,
    code              text,
    message           text,
    final             boolean,
    next_attempt_at   timestamptz,
    authorization_url text,
    total_refunded    bigint,
    updated_at        timestamptz NOT NULL,
    version           integer     NOT NULL
);
CREATE INDEX IF NOT EXISTS order_payments_by_order ON order_payments (order_id);
