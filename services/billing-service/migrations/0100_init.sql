-- billing-service: its own tables (the platform's event_store, inbox, api_tokens and
-- idempotency_keys come from shared_events and servicekit and are applied first).
SELECT 1;
