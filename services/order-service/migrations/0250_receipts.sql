-- Receipts and invoices (orders.events' ReceiptIssued; the shop's invoices_enabled and attach_invoice_to_email from
-- shops.events). Projections: a rebuild fills them from the topics.
ALTER TABLE shops ADD COLUMN IF NOT EXISTS invoices_enabled boolean NOT NULL DEFAULT false;
ALTER TABLE shops ADD COLUMN IF NOT EXISTS attach_invoice_to_email boolean NOT NULL DEFAULT false;

-- an order's receipt: when it was paid, what, by which payment; its invoice number in a shop that issues invoices
ALTER TABLE orders ADD COLUMN IF NOT EXISTS paid_at timestamptz;
ALTER TABLE orders ADD COLUMN IF NOT EXISTS paid_amount integer;
ALTER TABLE orders ADD COLUMN IF NOT EXISTS receipt_payment_id text;
ALTER TABLE orders ADD COLUMN IF NOT EXISTS invoice_number integer;
-- a number is never given twice in a shop (the sequence below is what makes it so; this is the backstop)
CREATE UNIQUE INDEX IF NOT EXISTS orders_invoice_number ON orders (shop_id, invoice_number)
    WHERE invoice_number IS NOT NULL;

-- The last invoice number of each shop. Issuing one increments the shop's row in the transaction that records the
-- ReceiptIssued carrying it: the row's lock makes concurrent issuers of a shop take their numbers in turn, and a
-- transaction that rolls back gives its number back (no gap). A replay sets it to the greatest number seen.
CREATE TABLE IF NOT EXISTS invoice_sequences (
    shop_id     text PRIMARY KEY,
    last_number integer NOT NULL CHECK (last_number >= 0)
);
