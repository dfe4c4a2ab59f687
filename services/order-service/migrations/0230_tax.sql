-- Tax (issue 25; shared_events.money): what order-service projects of it. Every column has the value that
-- events from before tax stand for (nothing taxed), so a replay of old events gives the same rows.

-- shops.events: whether the shop's prices include tax, and the rate of each tax category ([{category, rate_bp}]).
ALTER TABLE shops ADD COLUMN IF NOT EXISTS prices_include_tax boolean NOT NULL DEFAULT false;
ALTER TABLE shops ADD COLUMN IF NOT EXISTS tax_rates jsonb NOT NULL DEFAULT '[]';
-- shops.events: the tax category of a shipping or payment method's fee (NULL: not taxed).
ALTER TABLE shop_methods ADD COLUMN IF NOT EXISTS tax_category text;
-- catalog.events: the variant's tax category (NULL: not taxed).
ALTER TABLE catalog_variants ADD COLUMN IF NOT EXISTS tax_category text;

-- orders.events: the shop's setting and rates as copied at placement (later edits tax with these), and the
-- tax in the totals.
ALTER TABLE orders ADD COLUMN IF NOT EXISTS prices_include_tax boolean NOT NULL DEFAULT false;
ALTER TABLE orders ADD COLUMN IF NOT EXISTS tax_rates jsonb NOT NULL DEFAULT '[]';
ALTER TABLE orders ADD COLUMN IF NOT EXISTS tax_total bigint NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN IF NOT EXISTS shipping_tax bigint NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN IF NOT EXISTS payment_tax bigint NOT NULL DEFAULT 0;
-- each line's tax, its category and the rate copied at placement (or when the line was added).
ALTER TABLE order_lines ADD COLUMN IF NOT EXISTS tax bigint NOT NULL DEFAULT 0;
ALTER TABLE order_lines ADD COLUMN IF NOT EXISTS tax_category text;
ALTER TABLE order_lines ADD COLUMN IF NOT EXISTS tax_rate_bp integer NOT NULL DEFAULT 0;
