-- orders.events Line.substitute_for (optional, added with substitutes): the subscription item a line was placed
-- instead of, {"variant_id", "name"}; NULL for a line of the item's own variant (every event from before the field).
-- Projection: a rebuild fills it from the topic.
ALTER TABLE order_lines ADD COLUMN IF NOT EXISTS substitute_for jsonb;
