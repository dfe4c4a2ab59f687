"""customers.events: a shop's customers, their card on file and the charge permission.

Producer: subscription-service."""

from marshmallow import Schema, fields, validate

from shared_events.contracts.common import Address, CommandEvent, Id
from shared_events.registry import event

TOPIC = "customers.events"


class CustomerDetails(Schema):
    """Contact details; in CustomerUpdated only the changed ones are present."""

    email = fields.Email()
    first_name = fields.String(validate=validate.Length(min=1, max=100))
    last_name = fields.String(validate=validate.Length(min=1, max=100))
    locale = fields.String(allow_none=True, validate=validate.OneOf(["en", "fr"]))
    bill_address = fields.Nested(Address, allow_none=True)
    ship_address = fields.Nested(Address, allow_none=True)


@event("CustomerCreated", 1, topic=TOPIC, aggregate="Customer")
class CustomerCreatedV1(CommandEvent):
    """A manager added a customer to the shop's customer list (email unique per shop)."""

    customer_id = Id(required=True)
    shop_id = Id(required=True)
    details = fields.Nested(CustomerDetails, required=True)


@event("CustomerUpdated", 1, topic=TOPIC, aggregate="Customer")
class CustomerUpdatedV1(CommandEvent):
    """Details changed. Address changes do not flow into existing subscriptions (reference rule 27)."""

    customer_id = Id(required=True)
    shop_id = Id(required=True)
    changes = fields.Nested(CustomerDetails, required=True)
    previous = fields.Nested(CustomerDetails, required=True)


@event("CustomerCardSet", 1, topic=TOPIC, aggregate="Customer")
class CustomerCardSetV1(CommandEvent):
    """The customer's default card (a Stripe PaymentMethod on a Stripe Customer) was set or replaced.

    Replacing the default card revokes the charge permission (a CustomerChargesRevoked follows).
    """

    customer_id = Id(required=True)
    shop_id = Id(required=True)
    stripe_customer_id = fields.String(required=True, validate=validate.Length(min=1, max=255))
    payment_method_id = fields.String(required=True, validate=validate.Length(min=1, max=255))
    card_brand = fields.String(load_default=None, allow_none=True)
    card_last4 = fields.String(load_default=None, allow_none=True, validate=validate.Regexp(r"^\d{4}$"))


@event("CustomerCardRemoved", 1, topic=TOPIC, aggregate="Customer")
class CustomerCardRemovedV1(CommandEvent):
    """The default card was removed; the charge permission is revoked with it."""

    customer_id = Id(required=True)
    shop_id = Id(required=True)


@event("CustomerChargesAllowed", 1, topic=TOPIC, aggregate="Customer")
class CustomerChargesAllowedV1(CommandEvent):
    """The customer (with their own credential) allowed the shop to charge their default card off-session."""

    customer_id = Id(required=True)
    shop_id = Id(required=True)
    payment_method_id = fields.String(required=True)


@event("CustomerChargesRevoked", 1, topic=TOPIC, aggregate="Customer")
class CustomerChargesRevokedV1(CommandEvent):
    """The permission to charge was withdrawn (by the customer, or because the default card changed)."""

    customer_id = Id(required=True)
    shop_id = Id(required=True)


@event("CustomerDeleted", 1, topic=TOPIC, aggregate="Customer")
class CustomerDeletedV1(CommandEvent):
    """The customer was removed from the shop (only possible with no subscription that is not cancelled)."""

    customer_id = Id(required=True)
    shop_id = Id(required=True)
