-- The charger's wake-up through the platform's notify_channel (shared_events/sql/0005_notify_channel.sql).
DROP TRIGGER IF EXISTS billing_attempt_notify ON payment_attempts;
CREATE TRIGGER billing_attempt_notify AFTER INSERT ON payment_attempts
    FOR EACH STATEMENT EXECUTE FUNCTION notify_channel('billing_attempts');
DROP FUNCTION IF EXISTS billing_attempt_notify();
