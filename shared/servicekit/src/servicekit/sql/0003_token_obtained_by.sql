-- How a token was obtained: NULL = issued through the API (admin, manager, or a customer token a manager issued);
-- 'email_sign_in_link' = a customer session the customer opened with the one-time link sent to their email.
ALTER TABLE api_tokens ADD COLUMN IF NOT EXISTS obtained_by text;
