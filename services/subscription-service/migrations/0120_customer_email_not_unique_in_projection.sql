-- A projection must accept its events in any interleaving across aggregates: a rebuild merges topics by time,
-- and two customers' events published in the same millisecond may replay in either order. A unique index on email
-- would then refuse "B takes the email A just gave up". Email uniqueness is enforced by the write path instead
-- (a transaction-scoped advisory lock per shop and email, then a check), so the index here only serves lookups.
DROP INDEX IF EXISTS customers_email_per_shop;
CREATE INDEX IF NOT EXISTS customers_email_lookup ON customers (shop_id, lower(email)) WHERE deleted_at IS NULL;
