-- Receipts: when a payment was paid and with which card (brand, last four digits), and the card a customer has on
-- file (from CustomerCardSet), so that PaymentSucceeded can name the card it charged. Projections: a rebuild fills
-- them from the events.
ALTER TABLE payments ADD COLUMN IF NOT EXISTS paid_at timestamptz;
ALTER TABLE payments ADD COLUMN IF NOT EXISTS card_brand text;
ALTER TABLE payments ADD COLUMN IF NOT EXISTS card_last4 text;
ALTER TABLE customers ADD COLUMN IF NOT EXISTS card_brand text;
ALTER TABLE customers ADD COLUMN IF NOT EXISTS card_last4 text;
-- a customer's own payments, newest first
CREATE INDEX IF NOT EXISTS payments_by_customer ON payments (shop_id, customer_id, created_at DESC, payment_id DESC);
