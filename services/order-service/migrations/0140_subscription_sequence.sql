-- SubscriptionCreated.sequence: the subscription's creation rank in its shop (1, 2, 3...), the first-come
-- order of stock allocation that does not depend on clocks. NULL for subscriptions created before it existed.
ALTER TABLE subscriptions ADD COLUMN IF NOT EXISTS sequence bigint;
