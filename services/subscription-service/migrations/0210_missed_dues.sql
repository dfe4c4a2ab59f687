-- scheduler.events: an occurrence that was due but gets no order, because the due was processed only after its
-- cycle had closed and the shop places nothing late (OrderDueMissed); its occurrence shows `missed`
CREATE TABLE IF NOT EXISTS missed_dues (
    subscription_id text        NOT NULL,
    order_cycle_id  text        NOT NULL,
    shop_id         text        NOT NULL,
    due_at          timestamptz NOT NULL,
    due_reason      text        NOT NULL,
    reason          text        NOT NULL,
    version         bigint      NOT NULL,
    PRIMARY KEY (subscription_id, order_cycle_id)
);
