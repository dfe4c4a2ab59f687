"""subscriptions.events: subscriptions and their single occurrences (producer: subscription-service).

Rules follow the OFN reference (ofn-subscriptions.md): an occurrence exists for
every order cycle of the schedule whose close time is within [begins_at, ends_at].
"""

from marshmallow import Schema, fields, validate

from shared_events.contracts.common import (
    OPEN_ORDERS_CHOICES,
    PAYMENT_KINDS,
    Address,
    CommandEvent,
    Currency,
    Id,
    Money,
    Quantity,
    Utc,
)
from shared_events.registry import event

TOPIC = "subscriptions.events"


class Item(Schema):
    """One line of a subscription: a catalog variant and how many each time."""

    variant_id = Id(required=True)
    quantity = Quantity(required=True)
    price_estimate = Money(load_default=None, allow_none=True)  # unit price estimate when saved; None = unknown
    # variants to place instead, in order of preference, when this one cannot be had at placement (absent in
    # older events: none); at most 3, neither the item's own variant nor repeated
    substitutes = fields.List(Id(), load_default=list, validate=validate.Length(max=3))


class SubscriptionTerms(Schema):
    """The editable terms; in SubscriptionUpdated only the changed ones are present."""

    items = fields.List(fields.Nested(Item))
    shipping_method_id = Id()
    payment_method_id = Id()
    payment_kind = fields.String(validate=validate.OneOf(PAYMENT_KINDS))
    bill_address = fields.Nested(Address)
    ship_address = fields.Nested(Address)
    begins_at = Utc()
    ends_at = Utc(allow_none=True)
    shipping_fee_estimate = Money(allow_none=True)
    payment_fee_estimate = Money(allow_none=True)


@event("SubscriptionCreated", 1, topic=TOPIC, aggregate="Subscription")
class SubscriptionCreatedV1(CommandEvent):
    """A manager created a subscription; ``terms`` holds every term."""

    subscription_id = Id(required=True)
    shop_id = Id(required=True)
    customer_id = Id(required=True)
    schedule_id = Id(required=True)
    currency = Currency(required=True)
    terms = fields.Nested(SubscriptionTerms, required=True)
    # 1, 2, 3... per shop in creation order: "first come, first served" stock allocation needs an order that
    # does not depend on clocks (two creations in the same microsecond, or a frozen test clock)
    sequence = fields.Integer(strict=True, load_default=None, allow_none=True, validate=validate.Range(min=1))


@event("SubscriptionUpdated", 1, topic=TOPIC, aggregate="Subscription")
class SubscriptionUpdatedV1(CommandEvent):
    """Terms changed: ``changes`` the new values, ``previous`` the old ones (order-service needs both
    to tell hand-edited order lines from lines it may update, reference section 8)."""

    subscription_id = Id(required=True)
    shop_id = Id(required=True)
    changes = fields.Nested(SubscriptionTerms, required=True)
    previous = fields.Nested(SubscriptionTerms, required=True)


@event("SubscriptionPaused", 1, topic=TOPIC, aggregate="Subscription")
class SubscriptionPausedV1(CommandEvent):
    """Paused: no new orders. open_orders: cancel = placed orders of open cycles are cancelled,
    keep = they stay and are confirmed and charged at close, none = none was known and no choice was given.
    open_order_cycle_ids: the open cycles known to have an order; empty with cancel = every placed order of the
    subscription whose cycle is still open (its order may be placed before this service has heard of it)."""

    subscription_id = Id(required=True)
    shop_id = Id(required=True)
    open_orders = fields.String(required=True, validate=validate.OneOf(OPEN_ORDERS_CHOICES))
    open_order_cycle_ids = fields.List(Id(), load_default=list)
    # a pause until a date: the subscription resumes by itself at the start of ``resumes_on`` (a date in the
    # shop's time zone), the instant ``resumes_at``; scheduler-service emits PauseEnded then and this service
    # records SubscriptionUnpaused (automatic). Both absent (null): paused until someone unpauses it.
    resumes_at = Utc(load_default=None, allow_none=True)
    resumes_on = fields.Date(load_default=None, allow_none=True)


@event("SubscriptionUnpaused", 1, topic=TOPIC, aggregate="Subscription")
class SubscriptionUnpausedV1(CommandEvent):
    """Unpaused after re-validation; a cycle open right now gets its order at once. ``automatic``: the end of a
    pause until a date (scheduler.events PauseEnded), actor ``system``, not re-validated: the date was chosen
    when pausing, and what fails at the next order (an item, the card) is told then."""

    subscription_id = Id(required=True)
    shop_id = Id(required=True)
    automatic = fields.Boolean(load_default=False)


@event("SubscriptionCancelled", 1, topic=TOPIC, aggregate="Subscription")
class SubscriptionCancelledV1(CommandEvent):
    """Cancelled for good. open_orders as in SubscriptionPaused; orders of closed cycles are never touched."""

    subscription_id = Id(required=True)
    shop_id = Id(required=True)
    open_orders = fields.String(required=True, validate=validate.OneOf(OPEN_ORDERS_CHOICES))
    open_order_cycle_ids = fields.List(Id(), load_default=list)


class Holiday(Schema):
    """Days away, both included, as dates in the shop's time zone."""

    first_day = fields.Date(required=True)
    last_day = fields.Date(required=True)


@event("OccurrenceSkipped", 1, topic=TOPIC, aggregate="Subscription")
class OccurrenceSkippedV1(CommandEvent):
    """One occurrence (subscription x order cycle) is skipped; if its order was placed it is cancelled.
    ``holiday``: skipped by a holiday (every occurrence whose cycle closes within those days, skipped in one
    step: one such event each, with consecutive versions); null for a single skip."""

    subscription_id = Id(required=True)
    shop_id = Id(required=True)
    order_cycle_id = Id(required=True)
    holiday = fields.Nested(Holiday, load_default=None, allow_none=True)


@event("OccurrenceResumed", 1, topic=TOPIC, aggregate="Subscription")
class OccurrenceResumedV1(CommandEvent):
    """A skipped occurrence is back; if its cycle is open its order is placed (or its cancelled order resumed)."""

    subscription_id = Id(required=True)
    shop_id = Id(required=True)
    order_cycle_id = Id(required=True)
