-- catalog.events' VariantUpdated.supplier (optional, added for the managers' producer totals): the producer the
-- hub orders the variant from, as the platform's catalog names it; NULL when the catalog does not say (every
-- event from before the field). Projection: a rebuild fills it from the topic.
ALTER TABLE catalog_variants ADD COLUMN IF NOT EXISTS supplier text;

-- The shop's catalog page lists its variants by name (GET .../variants): one range scan per page.
CREATE INDEX IF NOT EXISTS catalog_variants_by_name
    ON catalog_variants (shop_id, product_name, (coalesce(variant_name, '')), variant_id);
