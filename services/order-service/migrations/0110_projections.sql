-- order-service projections: pure functions of events, rebuilt by entrypoints/rebuild.py
-- (PROJECTION_TABLES). Every row is written by a version-guarded upsert, so replays and
-- redeliveries are harmless. Nothing here may depend on the wall clock or on random values.

-- shops.events: the settings order-service needs, and the shop's shipping and payment methods.
CREATE TABLE IF NOT EXISTS shops (
    shop_id             text PRIMARY KEY,
    name                text        NOT NULL DEFAULT '',
    timezone            text        NOT NULL DEFAULT 'UTC',
    currency            text        NOT NULL DEFAULT 'EUR',
    locale              text        NOT NULL DEFAULT 'en',
    contact_email       text,
    owner_email         text,
    allow_order_changes boolean     NOT NULL DEFAULT false,
    allocation_policy   text        NOT NULL DEFAULT 'first_come',
    late_placement      text        NOT NULL DEFAULT 'while_open',
    version             integer     NOT NULL
);

CREATE TABLE IF NOT EXISTS shop_methods (
    shop_id        text    NOT NULL,
    kind           text    NOT NULL CHECK (kind IN ('shipping', 'payment')),
    method_id      text    NOT NULL,
    name           text    NOT NULL,
    description    text,
    fee_flat       integer NOT NULL,
    fee_percent_bp integer NOT NULL,
    active         boolean NOT NULL,
    pickup         boolean,
    payment_kind   text,
    removed        boolean NOT NULL DEFAULT false,
    version        integer NOT NULL,  -- the shop aggregate's version
    PRIMARY KEY (shop_id, kind, method_id)
);

-- customers.events
CREATE TABLE IF NOT EXISTS customers (
    customer_id text PRIMARY KEY,
    shop_id     text    NOT NULL,
    email       text,
    first_name  text,
    last_name   text,
    locale      text,
    deleted     boolean NOT NULL DEFAULT false,
    version     integer NOT NULL
);

-- subscriptions.events: the current terms (orders are built from them at placement).
CREATE TABLE IF NOT EXISTS subscriptions (
    subscription_id    text PRIMARY KEY,
    shop_id            text        NOT NULL,
    customer_id        text        NOT NULL,
    schedule_id        text        NOT NULL,
    currency           text        NOT NULL,
    items              jsonb       NOT NULL,
    shipping_method_id text        NOT NULL,
    payment_method_id  text        NOT NULL,
    payment_kind       text        NOT NULL,
    bill_address       jsonb       NOT NULL,
    ship_address       jsonb       NOT NULL,
    begins_at          timestamptz,
    ends_at            timestamptz,
    state              text        NOT NULL CHECK (state IN ('active', 'paused', 'cancelled')),
    created_at         timestamptz NOT NULL,  -- first come, first served ranks by this
    version            integer     NOT NULL
);
CREATE INDEX IF NOT EXISTS subscriptions_by_shop ON subscriptions (shop_id);

-- subscriptions.events: single occurrences skipped (and resumed) by the manager.
CREATE TABLE IF NOT EXISTS occurrences (
    subscription_id text    NOT NULL,
    order_cycle_id  text    NOT NULL,
    skipped         boolean NOT NULL,
    version         integer NOT NULL,  -- the subscription aggregate's version
    PRIMARY KEY (subscription_id, order_cycle_id)
);

-- schedules.events (name, times) and scheduler.events (the boundaries as they happened).
CREATE TABLE IF NOT EXISTS order_cycles (
    order_cycle_id   text PRIMARY KEY,
    shop_id          text        NOT NULL,
    name             text,
    opens_at         timestamptz,
    closes_at        timestamptz,
    deleted          boolean     NOT NULL DEFAULT false,
    version          integer     NOT NULL DEFAULT 0,  -- schedules.events OrderCycle version
    opened_at        timestamptz,                     -- OrderCycleOpened.boundary_at
    due_count        integer,
    closed_at        timestamptz,                     -- OrderCycleClosed.boundary_at
    boundary_version integer     NOT NULL DEFAULT 0   -- scheduler.events OrderCycle version
);

-- catalog.events: names, the shop's price, and stock. on_hand: the last VariantUpdated.on_hand
-- plus later StockAdjusted deltas minus what this service allocated since (orders.events stock_delta);
-- NULL = unlimited.
CREATE TABLE IF NOT EXISTS catalog_variants (
    shop_id      text    NOT NULL,
    variant_id   text    NOT NULL,
    product_name text    NOT NULL,
    variant_name text,
    unit_price   integer NOT NULL,
    currency     text    NOT NULL,
    on_hand      integer,
    available    boolean NOT NULL,
    deleted      boolean NOT NULL DEFAULT false,
    version      bigint  NOT NULL,
    PRIMARY KEY (shop_id, variant_id)
);

-- orders.events: the orders themselves.
CREATE TABLE IF NOT EXISTS orders (
    order_id           text PRIMARY KEY,
    number             text        NOT NULL UNIQUE,
    shop_id            text        NOT NULL,
    subscription_id    text        NOT NULL,
    order_cycle_id     text        NOT NULL,
    customer_id        text        NOT NULL,
    status             text        NOT NULL CHECK (status IN ('placed', 'empty', 'cancelled', 'confirmed')),
    cancel_cause       text,
    currency           text        NOT NULL,
    item_total         bigint      NOT NULL,
    shipping_fee       bigint      NOT NULL,
    payment_fee        bigint      NOT NULL,
    total              bigint      NOT NULL,
    shipping_method_id text        NOT NULL,
    payment_method_id  text        NOT NULL,
    payment_kind       text        NOT NULL,
    bill_address       jsonb       NOT NULL,
    ship_address       jsonb       NOT NULL,
    opens_at           timestamptz NOT NULL,
    closes_at          timestamptz NOT NULL,
    late               boolean     NOT NULL,
    allocation_policy  text        NOT NULL,
    placed_at          timestamptz NOT NULL,
    cancelled_at       timestamptz,
    confirmed_at       timestamptz,
    payment_required   boolean,
    version            integer     NOT NULL,
    updated_at         timestamptz NOT NULL,
    -- one order per occurrence, whatever redeliveries, replays or restarts happen
    CONSTRAINT orders_one_per_occurrence UNIQUE (subscription_id, order_cycle_id)
);
CREATE INDEX IF NOT EXISTS orders_by_cycle ON orders (order_cycle_id, status);
CREATE INDEX IF NOT EXISTS orders_by_shop ON orders (shop_id, placed_at DESC, order_id DESC);
CREATE INDEX IF NOT EXISTS orders_by_customer ON orders (customer_id, placed_at DESC);

CREATE TABLE IF NOT EXISTS order_lines (
    order_id           text    NOT NULL,
    line_id            text    NOT NULL,
    position           integer NOT NULL,
    variant_id         text    NOT NULL,
    name               text    NOT NULL,
    unit_price         integer NOT NULL,
    requested_quantity integer NOT NULL,
    quantity           integer NOT NULL,
    total              bigint  NOT NULL,
    edited_by          text,  -- who changed it last (manager, customer, subscription), NULL = as placed
    PRIMARY KEY (order_id, line_id)
);

CREATE TABLE IF NOT EXISTS order_update_issues (
    event_id              uuid        NOT NULL,
    position              integer     NOT NULL,
    order_id              text        NOT NULL,
    subscription_event_id text        NOT NULL,
    kind                  text        NOT NULL,
    variant_id            text,
    message               text        NOT NULL,
    recorded_at           timestamptz NOT NULL,
    PRIMARY KEY (event_id, position)
);
CREATE INDEX IF NOT EXISTS order_update_issues_by_order ON order_update_issues (order_id);

-- billing.events: the payment of each confirmed order, as billing-service reports it.
CREATE TABLE IF NOT EXISTS order_payments (
    order_id          text PRIMARY KEY,
    payment_id        text        NOT NULL,
    shop_id           text        NOT NULL,
    state             text        NOT NULL,
    method            text,
    amount            bigint,
    currency          text,
    attempt           integer,
    code              text,
    decline_code      text,
    message           text,
    final             boolean,
    next_attempt_at   timestamptz,
    authorization_url text,
    amount_refunded   bigint      NOT NULL DEFAULT 0,
    updated_at        timestamptz NOT NULL,
    version           integer     NOT NULL
);

CREATE TABLE IF NOT EXISTS payment_events (
    event_id    uuid PRIMARY KEY,
    order_id    text        NOT NULL,
    payment_id  text        NOT NULL,
    event_type  text        NOT NULL,
    version     integer     NOT NULL,
    occurred_at timestamptz NOT NULL,
    detail      jsonb       NOT NULL
);
CREATE INDEX IF NOT EXISTS payment_events_by_order ON payment_events (order_id);
