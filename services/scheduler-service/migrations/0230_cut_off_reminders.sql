-- The cut-off reminder (shops' order_reminder_hours_before_close): a third boundary of an opened cycle,
-- OrderCycleClosingSoon, due that many hours before its close and projected here like the open and the close.
ALTER TABLE shops ADD COLUMN IF NOT EXISTS order_reminder_hours integer;
ALTER TABLE cycle_boundaries DROP CONSTRAINT IF EXISTS cycle_boundaries_kind_check;
ALTER TABLE cycle_boundaries ADD CONSTRAINT cycle_boundaries_kind_check CHECK (kind IN ('open', 'close', 'reminder'));
-- a shop's reminder setting decides when its next reminders fire: wake the tickers when it changes
DROP TRIGGER IF EXISTS shops_wakeup ON shops;
CREATE TRIGGER shops_wakeup AFTER INSERT OR UPDATE ON shops
    FOR EACH STATEMENT EXECUTE FUNCTION notify_channel('scheduler_wakeup');
