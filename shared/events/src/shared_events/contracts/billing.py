"""billing.events: payments of confirmed orders (producer: billing-service).

One Payment aggregate per order (payment_id); every attempt to charge is
numbered. Outcomes are facts, never crashes: succeeded, failed (with a code, a
plain-words message and whether it will be retried), authorisation required
(3-D Secure: the customer follows ``authorization_url``), pending (cash).
"""

from marshmallow import fields, validate

from shared_events.contracts.common import CommandEvent, Currency, Id, Money, Utc
from shared_events.registry import event

TOPIC = "billing.events"


class _PaymentEvent(CommandEvent):
    payment_id = Id(required=True)
    order_id = Id(required=True)
    shop_id = Id(required=True)
    customer_id = Id(required=True)


@event("PaymentPending", 1, topic=TOPIC, aggregate="Payment")
class PaymentPendingV1(_PaymentEvent):
    """A payment was opened for an order: cash waits for a manager to mark it paid; stripe is about to be charged."""

    amount = Money(required=True)
    currency = Currency(required=True)
    method = fields.String(required=True, validate=validate.OneOf(["cash", "stripe"]))
    order_number = fields.String(load_default=None, allow_none=True)


@event("PaymentAttemptStarted", 1, topic=TOPIC, aggregate="Payment")
class PaymentAttemptStartedV1(_PaymentEvent):
    """An attempt to charge was recorded (committed before Stripe is called)."""

    attempt = fields.Integer(strict=True, required=True, validate=validate.Range(min=1))
    idempotency_key = fields.String(required=True)
    amount = Money(required=True)


@event("PaymentSucceeded", 1, topic=TOPIC, aggregate="Payment")
class PaymentSucceededV1(_PaymentEvent):
    """The charge succeeded. ``card_brand`` and ``card_last4``: the card charged, for the customer's receipt
    (absent in older events, and when the card on file was not the one the charge used)."""

    attempt = fields.Integer(strict=True, required=True)
    amount = Money(required=True)
    currency = Currency(required=True)
    stripe_payment_intent_id = fields.String(load_default=None, allow_none=True)
    stripe_charge_id = fields.String(load_default=None, allow_none=True)
    card_brand = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=40))
    card_last4 = fields.String(load_default=None, allow_none=True, validate=validate.Regexp(r"^\d{4}$"))


@event("PaymentFailed", 1, topic=TOPIC, aggregate="Payment")
class PaymentFailedV1(_PaymentEvent):
    """The charge failed. ``final`` is false when a retry is scheduled at ``next_attempt_at``."""

    attempt = fields.Integer(strict=True, required=True)
    code = fields.String(required=True)  # e.g. card_declined, no_permission, no_card, stripe_error
    decline_code = fields.String(load_default=None, allow_none=True)
    message = fields.String(required=True)  # plain words for the customer
    retryable = fields.Boolean(required=True)
    final = fields.Boolean(required=True)
    next_attempt_at = Utc(load_default=None, allow_none=True)
    stripe_payment_intent_id = fields.String(load_default=None, allow_none=True)


@event("PaymentAuthorizationRequired", 1, topic=TOPIC, aggregate="Payment")
class PaymentAuthorizationRequiredV1(_PaymentEvent):
    """The bank asks the customer to authenticate (3-D Secure); they can do it even after the cycle closed."""

    attempt = fields.Integer(strict=True, required=True)
    amount = Money(required=True)
    currency = Currency(required=True)
    stripe_payment_intent_id = fields.String(required=True)
    authorization_url = fields.String(required=True)


@event("PaymentMarkedPaid", 1, topic=TOPIC, aggregate="Payment")
class PaymentMarkedPaidV1(_PaymentEvent):
    """A manager recorded that the order was paid by other means (cash collected, bank transfer...)."""

    amount = Money(required=True)
    note = fields.String(load_default=None, allow_none=True)


@event("PaymentRefunded", 1, topic=TOPIC, aggregate="Payment")
class PaymentRefundedV1(_PaymentEvent):
    """A full or partial refund; ``total_refunded`` never exceeds what was charged."""

    refund_id = Id(required=True)
    amount = Money(required=True, validate=validate.Range(min=1))
    total_refunded = Money(required=True)
    currency = Currency(required=True)
    stripe_refund_id = fields.String(load_default=None, allow_none=True)


