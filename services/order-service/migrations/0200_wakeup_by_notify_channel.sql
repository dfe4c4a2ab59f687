-- The notifier's wake-up through the platform's notify_channel (shared_events/sql/0005_notify_channel.sql).
DROP TRIGGER IF EXISTS notifications_notify ON notifications;
CREATE TRIGGER notifications_notify AFTER INSERT ON notifications
    FOR EACH STATEMENT EXECUTE FUNCTION notify_channel('notifications');
DROP FUNCTION IF EXISTS notifications_notify();
