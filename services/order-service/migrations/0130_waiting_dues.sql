-- A due whose subscription, shop or methods are not projected yet waits (state 'waiting') instead of
-- holding its partition: it is placed as soon as what it lacks arrives.
ALTER TABLE order_dues DROP CONSTRAINT IF EXISTS order_dues_state_check;
ALTER TABLE order_dues ADD CONSTRAINT order_dues_state_check
    CHECK (state IN ('pending', 'placed', 'skipped', 'waiting'));
CREATE INDEX IF NOT EXISTS order_dues_waiting ON order_dues (subscription_id) WHERE state = 'waiting';
CREATE INDEX IF NOT EXISTS order_dues_waiting_by_shop ON order_dues (shop_id) WHERE state = 'waiting';
