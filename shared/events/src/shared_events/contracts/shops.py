"""shops.events: shops, their shipping and payment methods and their managers (producer: subscription-service)."""

from typing import Any

from marshmallow import Schema, fields, validate

from shared_events.contracts.common import PAYMENT_KINDS, TAX_CATEGORY, TAX_RATE, CommandEvent, Currency, Id, Money
from shared_events.registry import event

TOPIC = "shops.events"


# The payment retry policy of a shop whose settings name none: every new shop unless its creator chose another.
# A soft decline (insufficient funds, a bank's "try again") often clears within days, so the card is tried again
# 24 h after the first failure and 72 h after the second, 3 attempts in all (the reference never retries).
# subscription-service writes it into ShopCreated; billing-service applies it to shops whose events name none.
DEFAULT_RETRY_DELAYS_HOURS: tuple[int, ...] = (24, 72)
DEFAULT_RETRY_MAX_ATTEMPTS = 3


def default_payment_retry() -> dict[str, Any]:
    """A new copy of the default ``payment_retry`` setting, as ShopCreated carries it."""
    return {"delays_hours": list(DEFAULT_RETRY_DELAYS_HOURS), "max_attempts": DEFAULT_RETRY_MAX_ATTEMPTS}


REMINDER_MAX_HOURS = 168  # a week: the longest cut-off reminder a shop may ask for


class RetryPolicy(Schema):
    """When billing tries again after a soft decline or a transient error: ``delays_hours[n-1]`` hours after
    attempt n failed, ``max_attempts`` attempts in all (1 = never again). Hard declines, authentication
    failures, no card and no permission are never retried automatically. A shop created without one gets
    24 h then 72 h, 3 attempts."""

    delays_hours = fields.List(fields.Integer(strict=True, validate=validate.Range(min=0, max=24 * 30)), required=True)
    max_attempts = fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=10))


class TaxRate(Schema):
    """The rate of one tax category in the shop, in basis points (5.5 % = 550)."""

    category = fields.String(required=True, validate=TAX_CATEGORY)
    rate_bp = fields.Integer(strict=True, required=True, validate=TAX_RATE)


class ShopSettings(Schema):
    """Every setting of a shop; in ShopUpdated only the changed ones are present."""

    name = fields.String(validate=validate.Length(min=1, max=200))
    timezone = fields.String(validate=validate.Length(min=1, max=64))  # IANA, e.g. Europe/Paris
    currency = Currency()
    locale = fields.String(validate=validate.OneOf(["en", "fr"]))
    contact_email = fields.Email()
    owner_email = fields.Email(allow_none=True)
    subscriptions_enabled = fields.Boolean()  # the kill switch: off = no new orders are placed
    allow_order_changes = fields.Boolean()  # customers may change/cancel placed orders while open
    allow_customer_skip = fields.Boolean()  # customers may skip/resume single occurrences
    allocation_policy = fields.String(validate=validate.OneOf(["first_come", "fair_share"]))
    late_placement = fields.String(validate=validate.OneOf(["while_open", "always"]))
    payment_retry = fields.Nested(RetryPolicy)
    stripe_account_id = fields.String(allow_none=True)
    # the cut-off reminder: this many hours before a cycle closes, each customer whose placed order can still be
    # changed is emailed a reminder (scheduler-service's OrderCycleClosingSoon); None or absent = no reminder
    order_reminder_hours_before_close = fields.Integer(strict=True, allow_none=True,
                                                       validate=validate.Range(min=1, max=REMINDER_MAX_HOURS))
    # documents (order-service): every paid order gets a receipt; with ``invoices_enabled`` it is an invoice with
    # the shop's next invoice number (1, 2, 3... never skipped or repeated); ``attach_invoice_to_email`` attaches
    # the PDF to the email telling the customer their order is paid. Absent (older events) = false.
    invoices_enabled = fields.Boolean()
    attach_invoice_to_email = fields.Boolean()
    # tax (shared_events.money): whether the shop's prices (catalog and fees) include tax, and the rate of each
    # tax category its variants and methods name (one entry per category). Absent (shops from before tax):
    # false and no rates, i.e. nothing is taxed. Orders copy them at placement.
    prices_include_tax = fields.Boolean()
    tax_rates = fields.List(fields.Nested(TaxRate))


@event("ShopCreated", 1, topic=TOPIC, aggregate="Shop")
class ShopCreatedV1(CommandEvent):
    """A platform admin created a shop. ``settings`` holds every setting."""

    shop_id = Id(required=True)
    settings = fields.Nested(ShopSettings, required=True)


@event("ShopUpdated", 1, topic=TOPIC, aggregate="Shop")
class ShopUpdatedV1(CommandEvent):
    """Settings changed; ``changes`` holds only the new values, ``previous`` the old ones."""

    shop_id = Id(required=True)
    changes = fields.Nested(ShopSettings, required=True)
    previous = fields.Nested(ShopSettings, required=True)


class _Method(CommandEvent):
    shop_id = Id(required=True)
    method_id = Id(required=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    description = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=1000))
    fee_flat = Money(required=True, validate=validate.Range(min=0))
    fee_percent_bp = fields.Integer(strict=True, required=True, validate=validate.Range(min=0, max=10_000))
    active = fields.Boolean(required=True)
    # the tax category of the fee, one of the shop's tax rates (null, or absent in older events: not taxed)
    tax_category = fields.String(load_default=None, allow_none=True, validate=TAX_CATEGORY)


@event("ShippingMethodSaved", 1, topic=TOPIC, aggregate="Shop")
class ShippingMethodSavedV1(_Method):
    """A shipping method was added or changed. Fee = fee_flat + item_total * fee_percent_bp / 10000."""

    pickup = fields.Boolean(required=True)


@event("ShippingMethodRemoved", 1, topic=TOPIC, aggregate="Shop")
class ShippingMethodRemovedV1(CommandEvent):
    """A shipping method can no longer be chosen (existing subscriptions keep their copy)."""

    shop_id = Id(required=True)
    method_id = Id(required=True)


@event("PaymentMethodSaved", 1, topic=TOPIC, aggregate="Shop")
class PaymentMethodSavedV1(_Method):
    """A payment method was added or changed: kind cash (collected by hand) or stripe (card, off-session)."""

    kind = fields.String(required=True, validate=validate.OneOf(PAYMENT_KINDS))


@event("PaymentMethodRemoved", 1, topic=TOPIC, aggregate="Shop")
class PaymentMethodRemovedV1(CommandEvent):
    """A payment method can no longer be chosen."""

    shop_id = Id(required=True)
    method_id = Id(required=True)


@event("ShopManagerAdded", 1, topic=TOPIC, aggregate="Shop")
class ShopManagerAddedV1(CommandEvent):
    """A person became a manager of the shop (by the platform admin or another of its managers). ``email``
    (trimmed, lower case) is how they sign in: a one-time link sent to it opens a manager session for every shop
    they manage."""

    shop_id = Id(required=True)
    manager_id = Id(required=True)
    email = fields.Email(required=True)


@event("ShopManagerRemoved", 1, topic=TOPIC, aggregate="Shop")
class ShopManagerRemovedV1(CommandEvent):
    """A manager no longer manages the shop; the sessions they opened by email that reach the shop end
    (TokenRevoked on identity.events)."""

    shop_id = Id(required=True)
    manager_id = Id(required=True)
    email = fields.Email(required=True)
