-- A close confirms a cycle's placed orders a slice at a time in order id order (WHERE order_cycle_id = $1 AND
-- status = 'placed' AND order_id > $2 ORDER BY order_id LIMIT n): with order_id in the index each slice is one
-- range scan instead of finding and sorting every placed order of the cycle again. It covers what orders_by_cycle
-- served (its leading columns).
CREATE INDEX IF NOT EXISTS orders_by_cycle_status_id ON orders (order_cycle_id, status, order_id);
DROP INDEX IF EXISTS orders_by_cycle;
