-- The tickers' wake-up through the platform's notify_channel (shared_events/sql/0005_notify_channel.sql).
DROP TRIGGER IF EXISTS order_cycles_wakeup ON order_cycles;
CREATE TRIGGER order_cycles_wakeup AFTER INSERT OR UPDATE OR DELETE ON order_cycles
    FOR EACH STATEMENT EXECUTE FUNCTION notify_channel('scheduler_wakeup');
DROP TRIGGER IF EXISTS cycle_boundaries_wakeup ON cycle_boundaries;
CREATE TRIGGER cycle_boundaries_wakeup AFTER INSERT OR DELETE ON cycle_boundaries
    FOR EACH STATEMENT EXECUTE FUNCTION notify_channel('scheduler_wakeup');
DROP FUNCTION IF EXISTS scheduler_wakeup();
