-- A pause until a date (SubscriptionPaused.resumes_at): when the subscription resumes by itself (scheduler-service
-- emits PauseEnded then, and this service records SubscriptionUnpaused, automatic). NULL: paused until unpaused.
ALTER TABLE subscriptions ADD COLUMN IF NOT EXISTS paused_until timestamptz;
