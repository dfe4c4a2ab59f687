-- Dues not placed because of lateness (issue 21, "nothing lost in silence").
--
-- Projection (rebuildable, PROJECTION_TABLES): scheduler.events' OrderDueMissed, a due the scheduler
-- processed only after its cycle had closed in a shop whose late_placement is while_open. Listed in the
-- cycle's placement summary (API and email).
CREATE TABLE IF NOT EXISTS missed_dues (
    subscription_id text        NOT NULL,
    order_cycle_id  text        NOT NULL,
    shop_id         text        NOT NULL,
    customer_id     text        NOT NULL,
    due_at          timestamptz NOT NULL,
    due_reason      text        NOT NULL,  -- why it was due (OrderDue reasons)
    reason          text        NOT NULL,  -- why no order was placed (MISSED_REASONS)
    missed_at       timestamptz NOT NULL,  -- when the scheduler decided (the event's occurred_at)
    event_id        uuid        NOT NULL,
    PRIMARY KEY (subscription_id, order_cycle_id)
);
CREATE INDEX IF NOT EXISTS missed_dues_by_cycle ON missed_dues (order_cycle_id, shop_id);

-- OrderCycleOpened.missed_count (projection, like due_count).
ALTER TABLE order_cycles ADD COLUMN IF NOT EXISTS missed_count integer;

-- Reaction state: a missed due is recorded once in order_dues (state 'missed', skipped_because = its reason)
-- and reported once, in the summary of the placement run named by reported_in. An opening batch waits for
-- OrderCycleOpened.missed_count of them as it waits for due_count dues, so that its summary lists them.
ALTER TABLE order_dues DROP CONSTRAINT IF EXISTS order_dues_state_check;
ALTER TABLE order_dues ADD CONSTRAINT order_dues_state_check
    CHECK (state IN ('pending', 'placed', 'skipped', 'waiting', 'missed'));
ALTER TABLE order_dues ADD COLUMN IF NOT EXISTS reported_in uuid;
CREATE INDEX IF NOT EXISTS order_dues_missed_unreported ON order_dues (order_cycle_id)
    WHERE state = 'missed' AND reported_in IS NULL;
ALTER TABLE cycle_batches ADD COLUMN IF NOT EXISTS missed_count integer NOT NULL DEFAULT 0;
ALTER TABLE cycle_batches ADD COLUMN IF NOT EXISTS missed_recorded integer NOT NULL DEFAULT 0;
