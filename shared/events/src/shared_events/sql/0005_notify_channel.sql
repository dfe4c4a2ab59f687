-- The one wake-up trigger function: a statement trigger that NOTIFYs the channel named by its argument, so that
-- whoever LISTENs there (shared_events.listening: the relay, billing's charger, order-service's notifier,
-- scheduler's tickers) looks again at once. Each service's triggers call it with their channel.
CREATE OR REPLACE FUNCTION notify_channel() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify(TG_ARGV[0], '');
    RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS event_store_notify ON event_store;
CREATE TRIGGER event_store_notify AFTER INSERT ON event_store
    FOR EACH STATEMENT EXECUTE FUNCTION notify_channel('event_store');
DROP FUNCTION IF EXISTS event_store_notify();
