-- The managers of each shop (ShopManagerAdded/Removed on shops.events): a person, by their email address, which is
-- how they sign in. removed_at: no longer a manager (kept, version-guarded, so that a replay ends the same).
CREATE TABLE IF NOT EXISTS shop_managers (
    manager_id  uuid PRIMARY KEY,
    shop_id     text        NOT NULL,
    email       text        NOT NULL,
    added_at    timestamptz NOT NULL,
    removed_at  timestamptz,
    updated_at  timestamptz NOT NULL,
    version     integer     NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS shop_managers_live_email ON shop_managers (shop_id, email) WHERE removed_at IS NULL;
CREATE INDEX IF NOT EXISTS shop_managers_by_email ON shop_managers (email) WHERE removed_at IS NULL;

-- Managers sign in with the same one-time links as customers: a manager's link (role 'manager') names no shop and
-- no customer; the session it opens is for every shop where its address is a manager when it is used.
ALTER TABLE sign_in_links ADD COLUMN IF NOT EXISTS role text NOT NULL DEFAULT 'customer',
                          ALTER COLUMN shop_id DROP NOT NULL,
                          ALTER COLUMN customer_id DROP NOT NULL;
CREATE INDEX IF NOT EXISTS sign_in_links_by_email ON sign_in_links (email, created_at) WHERE role = 'manager';
