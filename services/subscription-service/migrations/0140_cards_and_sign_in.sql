-- The platform's own Stripe Customer of each customer (StripeCustomerCreated) and the expiry of the saved card
-- (from Stripe). stripe_customer_id stays the Stripe Customer of the saved card (CustomerCardSet), which for cards
-- saved before the platform owned the Stripe Customers was the one a client named.
ALTER TABLE customers ADD COLUMN IF NOT EXISTS platform_stripe_customer_id text,
                      ADD COLUMN IF NOT EXISTS card_exp_month integer,
                      ADD COLUMN IF NOT EXISTS card_exp_year integer;

-- One-time sign-in links (not a projection: the state of a link lives only here). Only the SHA-256 of the token
-- is kept; a link is used at most once (used_at) and only before expires_at; session_token_id names the customer
-- session (api_tokens / TokenIssued) it opened.
CREATE TABLE IF NOT EXISTS sign_in_links (
    link_id          uuid PRIMARY KEY,
    token_hash       text        NOT NULL UNIQUE,
    shop_id          text        NOT NULL,
    customer_id      text        NOT NULL,
    email            text        NOT NULL,
    created_at       timestamptz NOT NULL,
    expires_at       timestamptz NOT NULL,
    used_at          timestamptz,
    session_token_id uuid
);
CREATE INDEX IF NOT EXISTS sign_in_links_by_customer ON sign_in_links (customer_id, created_at);
