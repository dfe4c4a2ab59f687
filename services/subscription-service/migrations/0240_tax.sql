-- Tax (issue 25): a shipping or payment method's tax category (NULL: not taxed), and a catalog variant's
-- (catalog.events' tax_category; NULL: not taxed, as every event from before the field). The shop's
-- prices_include_tax and tax_rates live in shops.settings (absent: false and no rates).
ALTER TABLE shop_methods ADD COLUMN IF NOT EXISTS tax_category text;
ALTER TABLE variants ADD COLUMN IF NOT EXISTS tax_category text;
