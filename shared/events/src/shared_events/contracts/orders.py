"""orders.events: orders placed for occurrences, their edits, confirmation and payment requests
(producer: order-service).

Every event that changes quantities carries ``stock_delta`` (positive = this
service allocated that much more of the variant, negative = released), so the
platform's inventory can follow what subscriptions hold.

Tax (``shared_events.money``): each line carries its tax category, the rate copied
from the shop at placement (a later rate change never touches it) and its tax,
per line, rounded half-even; ``Totals.tax_total`` is the lines' tax plus the fees'.
Where the order's prices exclude tax, total = items + fees + tax_total; where they
include it, total = items + fees. Events from before tax carry none of these
fields and read as untaxed: tax 0, no category, rate 0, prices excluding tax.
"""

from marshmallow import Schema, fields, validate

from shared_events.contracts.common import (
    PAYMENT_KINDS,
    TAX_CATEGORY,
    TAX_RATE,
    Address,
    CommandEvent,
    Currency,
    Id,
    Money,
    Quantity,
    Utc,
)
from shared_events.contracts.shops import TaxRate
from shared_events.registry import event

TOPIC = "orders.events"
EDITORS = ["manager", "customer", "subscription", "system"]


class StockDelta(Schema):
    variant_id = Id(required=True)
    delta = fields.Integer(strict=True, required=True)


class SubstituteFor(Schema):
    """The subscription item a line was placed instead of: its variant and name then."""

    variant_id = Id(required=True)
    name = fields.String(required=True, validate=validate.Length(max=400))


class Line(Schema):
    line_id = Id(required=True)
    variant_id = Id(required=True)
    name = fields.String(required=True, validate=validate.Length(max=400))
    unit_price = Money(required=True, validate=validate.Range(min=0))
    requested_quantity = Quantity(required=True)  # what the subscription asked for
    quantity = Quantity(required=True)  # what was allocated (capped to stock)
    total = Money(required=True, validate=validate.Range(min=0))
    # the item this line stands for when its variant could not be had and a substitute was placed instead
    # (absent in older events: None, the line is the item's own variant)
    substitute_for = fields.Nested(SubstituteFor, load_default=None, allow_none=True)
    # the line's tax (shared_events.money.tax_of of ``total``): on top of it or included in it, as the
    # order's ``prices_include_tax`` says; absent in events from before tax: 0
    tax = Money(load_default=0, validate=validate.Range(min=0))
    tax_category = fields.String(load_default=None, allow_none=True, validate=TAX_CATEGORY)  # None: not taxed
    tax_rate_bp = fields.Integer(strict=True, load_default=0, validate=TAX_RATE)  # copied at placement


class Totals(Schema):
    item_total = Money(required=True)
    shipping_fee = Money(required=True)
    payment_fee = Money(required=True)
    total = Money(required=True)
    # all tax of the order (lines + fees); included in ``total`` or added to it (see the module's docstring);
    # absent in events from before tax: 0
    tax_total = Money(load_default=0, validate=validate.Range(min=0))
    shipping_tax = Money(load_default=0, validate=validate.Range(min=0))  # the shipping fee's tax, in tax_total
    payment_tax = Money(load_default=0, validate=validate.Range(min=0))  # the payment fee's tax, in tax_total


class _OrderEvent(CommandEvent):
    order_id = Id(required=True)
    shop_id = Id(required=True)
    subscription_id = Id(required=True)
    order_cycle_id = Id(required=True)
    customer_id = Id(required=True)


@event("OrderPlaced", 1, topic=TOPIC, aggregate="Order")
class OrderPlacedV1(_OrderEvent):
    """An order was placed for an OrderDue (status placed), or nothing was available (status empty:
    nothing to confirm or charge). Prices are the catalog's at placement; no payment is taken while
    the cycle is open."""

    number = fields.String(required=True, validate=validate.Length(min=1, max=40))
    status = fields.String(required=True, validate=validate.OneOf(["placed", "empty"]))
    currency = Currency(required=True)
    lines = fields.List(fields.Nested(Line), required=True)
    totals = fields.Nested(Totals, required=True)
    shipping_method_id = Id(required=True)
    payment_method_id = Id(required=True)
    payment_kind = fields.String(required=True, validate=validate.OneOf(PAYMENT_KINDS))
    bill_address = fields.Nested(Address, required=True)
    ship_address = fields.Nested(Address, required=True)
    opens_at = Utc(required=True)
    closes_at = Utc(required=True)
    late = fields.Boolean(required=True)
    allocation_policy = fields.String(required=True)
    stock_delta = fields.List(fields.Nested(StockDelta), required=True)
    # the shop's setting and tax rates at placement, kept by the order for its whole life: lines added later and
    # the fees are taxed with these (absent before tax: false and no rates)
    prices_include_tax = fields.Boolean(load_default=False)
    tax_rates = fields.List(fields.Nested(TaxRate), load_default=list)


@event("OrderLineChanged", 1, topic=TOPIC, aggregate="Order")
class OrderLineChangedV1(_OrderEvent):
    """A line's quantity changed (by a manager, the customer, or a subscription edit)."""

    line_id = Id(required=True)
    variant_id = Id(required=True)
    quantity = Quantity(required=True)
    previous_quantity = Quantity(required=True)
    by = fields.String(required=True, validate=validate.OneOf(EDITORS))
    totals = fields.Nested(Totals, required=True)
    stock_delta = fields.List(fields.Nested(StockDelta), required=True)
    # what the line now asks for: above ``quantity`` when a subscription change was capped to stock
    # (None from older producers: a manager's or customer's edit asks for exactly ``quantity``)
    requested_quantity = Quantity(load_default=None, allow_none=True)
    # the line's tax at its new quantity (at the rate the line carries); absent in events from before tax: 0
    tax = Money(load_default=0, validate=validate.Range(min=0))


@event("OrderLineAdded", 1, topic=TOPIC, aggregate="Order")
class OrderLineAddedV1(_OrderEvent):
    """A line was added (by a manager or a subscription edit, stock permitting)."""

    line = fields.Nested(Line, required=True)
    by = fields.String(required=True, validate=validate.OneOf(EDITORS))
    totals = fields.Nested(Totals, required=True)
    stock_delta = fields.List(fields.Nested(StockDelta), required=True)


@event("OrderLineRemoved", 1, topic=TOPIC, aggregate="Order")
class OrderLineRemovedV1(_OrderEvent):
    """A line was removed (never the last one: that is a cancel)."""

    line_id = Id(required=True)
    variant_id = Id(required=True)
    by = fields.String(required=True, validate=validate.OneOf(EDITORS))
    totals = fields.Nested(Totals, required=True)
    stock_delta = fields.List(fields.Nested(StockDelta), required=True)


@event("OrderLineWithdrawn", 1, topic=TOPIC, aggregate="Order")
class OrderLineWithdrawnV1(_OrderEvent):
    """A line of an open order was withdrawn because its variant left the catalog after placement (``cause``
    ``deleted``: VariantDeleted; ``unavailable``: VariantUpdated with available false). Not a manager's removal
    (OrderLineRemoved): nothing is charged for it, its stock is released (``stock_delta``), ``totals`` are the
    order's after it, and ``status`` is the order's status after it (``empty`` when nothing is left on it:
    nothing to confirm or charge). ``catalog_event_id``: the catalog event that withdrew it. ``substitute``: the
    line placed instead of it (its subscription item's first substitute with stock, ``substitute_for`` naming the
    item), added to the order, its stock allocated in ``stock_delta`` and its price in ``totals``; null (the
    default, and in events from before substitutes) when none could be had."""

    line_id = Id(required=True)
    variant_id = Id(required=True)
    name = fields.String(required=True, validate=validate.Length(max=400))
    unit_price = Money(required=True, validate=validate.Range(min=0))
    quantity = Quantity(required=True)  # what the line held (released)
    cause = fields.String(required=True, validate=validate.OneOf(["deleted", "unavailable"]))
    status = fields.String(required=True, validate=validate.OneOf(["placed", "empty"]))
    catalog_event_id = fields.String(required=True, validate=validate.Length(min=1, max=100))
    by = fields.String(required=True, validate=validate.OneOf(EDITORS))
    totals = fields.Nested(Totals, required=True)
    stock_delta = fields.List(fields.Nested(StockDelta), required=True)
    substitute = fields.Nested(Line, load_default=None, allow_none=True)


@event("OrderDetailsChanged", 1, topic=TOPIC, aggregate="Order")
class OrderDetailsChangedV1(_OrderEvent):
    """Shipping/payment method or addresses changed (only the changed ones are present)."""

    shipping_method_id = Id()
    payment_method_id = Id()
    payment_kind = fields.String(validate=validate.OneOf(PAYMENT_KINDS))
    bill_address = fields.Nested(Address)
    ship_address = fields.Nested(Address)
    by = fields.String(required=True, validate=validate.OneOf(EDITORS))
    totals = fields.Nested(Totals, required=True)


class UpdateIssue(Schema):
    kind = fields.String(
        required=True,
        validate=validate.OneOf(
            ["line_hand_edited", "line_missing", "insufficient_stock", "out_of_stock",
             "shipping_method_hand_edited", "payment_method_hand_edited", "address_hand_edited", "order_closed"]
        ),
    )
    variant_id = Id(load_default=None, allow_none=True)
    message = fields.String(required=True)


@event("OrderUpdateIssuesRecorded", 1, topic=TOPIC, aggregate="Order")
class OrderUpdateIssuesRecordedV1(_OrderEvent):
    """A subscription edit could not be applied to this open order in full (reference section 8):
    each skipped propagation is an issue the manager can read."""

    subscription_event_id = fields.String(required=True)
    issues = fields.List(fields.Nested(UpdateIssue), required=True)


@event("OrderCancelled", 1, topic=TOPIC, aggregate="Order")
class OrderCancelledV1(_OrderEvent):
    """The order was cancelled before its cycle closed; its stock is released."""

    by = fields.String(required=True, validate=validate.OneOf(EDITORS))
    cause = fields.String(
        required=True,
        validate=validate.OneOf(["manager", "customer", "occurrence_skipped", "subscription_paused",
                                 "subscription_cancelled"]),
    )
    stock_delta = fields.List(fields.Nested(StockDelta), required=True)


@event("OrderResumed", 1, topic=TOPIC, aggregate="Order")
class OrderResumedV1(_OrderEvent):
    """A cancelled order is back (before close); its lines are re-allocated, capped to stock."""

    by = fields.String(required=True, validate=validate.OneOf(EDITORS))
    lines = fields.List(fields.Nested(Line), required=True)
    totals = fields.Nested(Totals, required=True)
    stock_delta = fields.List(fields.Nested(StockDelta), required=True)


@event("OrderConfirmed", 1, topic=TOPIC, aggregate="Order")
class OrderConfirmedV1(_OrderEvent):
    """The cycle closed and the order is final. payment_required is false for a zero total."""

    number = fields.String(required=True)
    currency = Currency(required=True)
    totals = fields.Nested(Totals, required=True)
    payment_kind = fields.String(required=True, validate=validate.OneOf(PAYMENT_KINDS))
    payment_required = fields.Boolean(required=True)
    confirmed_at = Utc(required=True)


@event("PaymentRequested", 1, topic=TOPIC, aggregate="Order")
class PaymentRequestedV1(_OrderEvent):
    """Billing, please collect ``amount`` for this confirmed order (stripe: charge the card off-session;
    cash: record it as pending until a manager marks it paid)."""

    number = fields.String(required=True)
    amount = Money(required=True, validate=validate.Range(min=1))
    currency = Currency(required=True)
    payment_kind = fields.String(required=True, validate=validate.OneOf(PAYMENT_KINDS))
    payment_method_id = Id(required=True)


@event("ReceiptIssued", 1, topic=TOPIC, aggregate="Order")
class ReceiptIssuedV1(_OrderEvent):
    """The confirmed order was paid (billing.events' PaymentSucceeded or PaymentMarkedPaid): its receipt exists from
    now on, once per order, as a PDF (``GET .../orders/{id}/receipt.pdf``) in the customer's language. In a shop
    whose ``invoices_enabled`` was on at that moment it is an invoice: ``invoice_number`` is the shop's next number
    (1, 2, 3..., never skipped or repeated, whatever the concurrency or replays); null otherwise."""

    number = fields.String(required=True)  # the order's number
    payment_id = Id(required=True)
    amount = Money(required=True, validate=validate.Range(min=0))  # what was paid
    currency = Currency(required=True)
    paid_at = Utc(required=True)
    invoice_number = fields.Integer(strict=True, load_default=None, allow_none=True, validate=validate.Range(min=1))
