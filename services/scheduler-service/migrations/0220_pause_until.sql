-- A pause until a date (SubscriptionPaused.resumes_at): the ticker emits PauseEnded at that instant, once per
-- pause (paused_version: the SubscriptionPaused's aggregate version), and counts the subscription as due from then.
ALTER TABLE subscriptions ADD COLUMN IF NOT EXISTS resumes_at timestamptz;
ALTER TABLE subscriptions ADD COLUMN IF NOT EXISTS paused_version integer;
CREATE INDEX IF NOT EXISTS subscriptions_pause_ends ON subscriptions (resumes_at)
    WHERE paused AND NOT cancelled AND resumes_at IS NOT NULL;
