-- API credentials, projected from identity.events by every service.
CREATE TABLE IF NOT EXISTS api_tokens (
    token_id    uuid PRIMARY KEY,
    token_hash  text        NOT NULL UNIQUE,
    role        text        NOT NULL CHECK (role IN ('admin', 'manager', 'customer')),
    shop_ids    text[]      NOT NULL,
    customer_id text,
    label       text,
    expires_at  timestamptz,
    issued_at   timestamptz NOT NULL,
    revoked_at  timestamptz,
    version     integer     NOT NULL
);

-- Idempotency-Key: the first response to a POST, replayed for retries with the same key.
CREATE TABLE IF NOT EXISTS idempotency_keys (
    principal    text        NOT NULL,
    key          text        NOT NULL,
    method       text        NOT NULL,
    path         text        NOT NULL,
    request_hash text        NOT NULL,
    status       integer     NOT NULL,
    headers      jsonb       NOT NULL,
    body         bytea       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (principal, key)
);
