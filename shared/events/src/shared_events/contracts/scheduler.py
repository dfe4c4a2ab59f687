"""scheduler.events: time turned into events (producer: scheduler-service).

Exactly one OrderDue per (subscription, order cycle), ever. OrderDue is keyed by
its occurrence ("<subscription_id>:<order_cycle_id>") so that the burst of a
cycle opening spreads over every partition; OrderCycleOpened/Closed are keyed by
the order cycle. Consumers must therefore accept an OrderDue that arrives after
the OrderCycleClosed of its cycle (a late placement).
"""

from marshmallow import Schema, fields, validate

from shared_events.contracts.common import Id, Utc
from shared_events.registry import event

TOPIC = "scheduler.events"

DUE_REASONS = [
    "cycle_opened",  # the cycle opened (on time or caught up after downtime)
    "subscription_created",  # created (or begins) while the cycle is open
    "subscription_updated",  # an edit brought the cycle into range while it is open
    "subscription_unpaused",
    "occurrence_resumed",
    "cycle_added",  # the cycle was added to the schedule while open
    "cycle_moved",  # the cycle was moved so that it is open now
    "subscriptions_enabled",  # the shop's kill switch was turned back on
]


def occurrence_id(subscription_id: str, order_cycle_id: str) -> str:
    """The aggregate id (and Kafka key) of an OrderDue."""
    return f"{subscription_id}:{order_cycle_id}"


@event("OrderDue", 1, topic=TOPIC, aggregate="Occurrence")
class OrderDueV1(Schema):
    """Place the order of this subscription for this order cycle (once per pair, ever).

    ``due_at`` is when it became due (the cycle's open, or the change that made it
    due mid-cycle); ``lateness_seconds`` how long after that it was emitted
    (boundaries missed during downtime are caught up, never skipped); ``late`` is
    true when the cycle had already closed and the shop's policy places it anyway.
    """

    subscription_id = Id(required=True)
    order_cycle_id = Id(required=True)
    shop_id = Id(required=True)
    customer_id = Id(required=True)
    schedule_id = Id(required=True)
    opens_at = Utc(required=True)
    closes_at = Utc(required=True)
    due_at = Utc(required=True)
    reason = fields.String(required=True, validate=validate.OneOf(DUE_REASONS))
    lateness_seconds = fields.Float(required=True, validate=validate.Range(min=0))
    late = fields.Boolean(required=True)


class _CycleBoundary(Schema):
    order_cycle_id = Id(required=True)
    shop_id = Id(required=True)
    opens_at = Utc(required=True)
    closes_at = Utc(required=True)
    boundary_at = Utc(required=True)
    lateness_seconds = fields.Float(required=True, validate=validate.Range(min=0))


@event("OrderCycleOpened", 1, topic=TOPIC, aggregate="OrderCycle")
class OrderCycleOpenedV1(_CycleBoundary):
    """The cycle opened (emitted after the OrderDue events of its subscriptions; ``due_count`` of them)."""

    due_count = fields.Integer(strict=True, required=True, validate=validate.Range(min=0))


@event("OrderCycleClosed", 1, topic=TOPIC, aggregate="OrderCycle")
class OrderCycleClosedV1(_CycleBoundary):
    """The cycle closed: order-service confirms its placed orders and requests their payments."""
