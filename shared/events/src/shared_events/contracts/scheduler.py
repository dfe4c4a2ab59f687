"""scheduler.events: time turned into events (producer: scheduler-service).

Exactly one decision per (subscription, order cycle), ever: an OrderDue, or an
OrderDueMissed when the due was processed only after the cycle closed and the
shop's ``late_placement`` is ``while_open``. Both are keyed by
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


MISSED_REASONS = [
    # the scheduler processed the cycle's open only after the cycle had closed (it was down across the whole
    # open window)
    "open_processed_after_close",
    # the change that made it due was made while the cycle was open, but processed after the cycle closed
    "change_processed_after_close",
]


def closing_soon_id(order_cycle_id: str) -> str:
    """The aggregate id (and Kafka key) of an OrderCycleClosingSoon: the cycle's reminder, once per cycle."""
    return f"{order_cycle_id}:closing-soon"


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


@event("OrderDueMissed", 1, topic=TOPIC, aggregate="Occurrence")
class OrderDueMissedV1(Schema):
    """This subscription was due in this order cycle but gets no order: the due was processed only after the
    cycle had closed, and the shop's ``late_placement`` is ``while_open`` (orders only while the cycle is open).

    The other outcome of the same decision as OrderDue (same key, same version: an occurrence gets one or the
    other, once). ``due_reason`` is why it was due (as OrderDue's ``reason``), ``reason`` why no order was
    placed (``MISSED_REASONS``); ``lateness_seconds`` how long after ``due_at`` the scheduler processed it.
    order-service lists it in the shop's placement summary (email and API).
    """

    subscription_id = Id(required=True)
    order_cycle_id = Id(required=True)
    shop_id = Id(required=True)
    customer_id = Id(required=True)
    schedule_id = Id(required=True)
    opens_at = Utc(required=True)
    closes_at = Utc(required=True)
    due_at = Utc(required=True)
    due_reason = fields.String(required=True, validate=validate.OneOf(DUE_REASONS))
    reason = fields.String(required=True, validate=validate.OneOf(MISSED_REASONS))
    late_placement = fields.String(required=True, validate=validate.OneOf(["while_open"]))
    lateness_seconds = fields.Float(required=True, validate=validate.Range(min=0))


class _CycleBoundary(Schema):
    order_cycle_id = Id(required=True)
    shop_id = Id(required=True)
    opens_at = Utc(required=True)
    closes_at = Utc(required=True)
    boundary_at = Utc(required=True)
    lateness_seconds = fields.Float(required=True, validate=validate.Range(min=0))


@event("OrderCycleOpened", 1, topic=TOPIC, aggregate="OrderCycle")
class OrderCycleOpenedV1(_CycleBoundary):
    """The cycle opened (emitted after the OrderDue events of its subscriptions; ``due_count`` of them, and
    after the OrderDueMissed of those due but not placed because the open was processed after the close;
    ``missed_count`` of them, 0 when absent)."""

    due_count = fields.Integer(strict=True, required=True, validate=validate.Range(min=0))
    missed_count = fields.Integer(strict=True, load_default=0, validate=validate.Range(min=0))


@event("OrderCycleClosed", 1, topic=TOPIC, aggregate="OrderCycle")
class OrderCycleClosedV1(_CycleBoundary):
    """The cycle closed: order-service confirms its placed orders and requests their payments."""


@event("OrderCycleClosingSoon", 1, topic=TOPIC, aggregate="OrderCycleReminder")
class OrderCycleClosingSoonV1(_CycleBoundary):
    """The cycle closes in ``hours_before_close`` hours: the shop's cut-off reminder is due
    (``order_reminder_hours_before_close``). order-service emails each customer whose placed order can still be
    changed (the shop allows changes, the order is placed, the cycle has not closed) a reminder with the link to
    their order, once per order.

    Aggregate ``"<order_cycle_id>:closing-soon"`` version 1 (``closing_soon_id``): one per cycle, ever, whatever
    restarts, replicas or replays happen. ``boundary_at`` is ``closes_at`` minus the hours; emitted only for a
    cycle the scheduler has opened, whose open came before that instant and which it has not closed yet (a ticker
    down across it catches it up, before the close). Keyed apart from the cycle's own events, it may reach a
    consumer after the OrderCycleClosed: a consumer reminds only of orders that can still be changed.
    """

    hours_before_close = fields.Integer(strict=True, required=True, validate=validate.Range(min=1))


def pause_end_id(subscription_id: str, paused_version: int) -> str:
    """The aggregate id (and Kafka key) of a PauseEnded: one per pause."""
    return f"{subscription_id}:pause:{paused_version}"


@event("PauseEnded", 1, topic=TOPIC, aggregate="PauseEnd")
class PauseEndedV1(Schema):
    """The date a subscription was paused until has come (``resumes_at``, the start of that day in the shop's
    time zone): subscription-service records SubscriptionUnpaused (automatic) if that pause still stands.

    Emitted once per pause (the SubscriptionPaused at ``paused_version``), at its instant, in time order with the
    cycles' boundaries (the test clock stops at it too): a cycle opening at or after it counts the subscription
    as due. Keyed by ``"<subscription_id>:pause:<paused_version>"``.
    """

    subscription_id = Id(required=True)
    shop_id = Id(required=True)
    paused_version = fields.Integer(strict=True, required=True, validate=validate.Range(min=1))
    resumes_at = Utc(required=True)
    lateness_seconds = fields.Float(required=True, validate=validate.Range(min=0))
