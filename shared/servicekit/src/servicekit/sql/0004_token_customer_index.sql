-- A customer's tokens by customer: subscription-service asks whether a customer ever opened a session with an
-- emailed link on each customer write, and ends a customer's sessions when their email changes.
CREATE INDEX IF NOT EXISTS api_tokens_customer ON api_tokens (customer_id) WHERE customer_id IS NOT NULL;
