-- The PaymentIntent a call is known to have made while its outcome is not recorded yet (Stripe answered
-- "processing"): reconciliation retrieves it by id instead of searching for it.
ALTER TABLE charge_calls ADD COLUMN IF NOT EXISTS stripe_payment_intent_id text;
