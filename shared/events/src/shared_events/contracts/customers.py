"""customers.events: a shop's customers, their card on file and the charge permission.

Producer: subscription-service."""

from marshmallow import Schema, fields, validate

from shared_events.contracts.common import Address, CommandEvent, Id, Utc
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


@event("StripeCustomerCreated", 1, topic=TOPIC, aggregate="Customer")
class StripeCustomerCreatedV1(CommandEvent):
    """The platform created the Stripe Customer that holds this customer's cards (when the customer first started
    to save a card). It is the platform's own: a card is saved only on it. The id is never shown by the API."""

    customer_id = Id(required=True)
    shop_id = Id(required=True)
    stripe_customer_id = fields.String(required=True, validate=validate.Length(min=1, max=255))


@event("CustomerCardSet", 1, topic=TOPIC, aggregate="Customer")
class CustomerCardSetV1(CommandEvent):
    """The customer's default card (a Stripe PaymentMethod on a Stripe Customer) was set or replaced.

    Since cards are saved through a SetupIntent the customer confirmed (``setup_intent_id``), the Stripe Customer is
    the platform's own (StripeCustomerCreated), the PaymentMethod was checked to belong to it, and the brand, last
    four digits and expiry come from Stripe. Older events (without ``setup_intent_id``) carried ids a client sent.
    Replacing the default card revokes the charge permission (a CustomerChargesRevoked follows).
    """

    customer_id = Id(required=True)
    shop_id = Id(required=True)
    stripe_customer_id = fields.String(required=True, validate=validate.Length(min=1, max=255))
    payment_method_id = fields.String(required=True, validate=validate.Length(min=1, max=255))
    card_brand = fields.String(load_default=None, allow_none=True)
    card_last4 = fields.String(load_default=None, allow_none=True, validate=validate.Regexp(r"^\d{4}$"))
    card_exp_month = fields.Integer(load_default=None, allow_none=True, strict=True,
                                    validate=validate.Range(min=1, max=12))
    card_exp_year = fields.Integer(load_default=None, allow_none=True, strict=True,
                                   validate=validate.Range(min=2000, max=2200))
    setup_intent_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=255))


@event("CustomerCardRemoved", 1, topic=TOPIC, aggregate="Customer")
class CustomerCardRemovedV1(CommandEvent):
    """The default card was removed; the charge permission is revoked with it."""

    customer_id = Id(required=True)
    shop_id = Id(required=True)


class Consent(Schema):
    """How the customer gave or withdrew their consent: when, by which means and session, and the exact text they
    were shown, in its language."""

    at = Utc(required=True)
    method = fields.String(required=True, validate=validate.OneOf(["email_sign_in_link"]))
    session_id = Id(required=True, metadata={"description": "the customer session (token id) that acted; its "
                                                           "TokenIssued names the sign-in link that opened it"})
    text = fields.String(required=True, validate=validate.Length(min=1, max=4000))
    locale = fields.String(required=True, validate=validate.OneOf(["en", "fr"]))
    email = fields.Email(load_default=None, allow_none=True,
                         metadata={"description": "the address the session was proven by"})


@event("CustomerChargesAllowed", 1, topic=TOPIC, aggregate="Customer")
class CustomerChargesAllowedV1(CommandEvent):
    """The customer (with their own credential) allowed the shop to charge their default card off-session.

    ``consent`` records how (a session the customer opened through the link emailed to them), when, and the text
    shown in its language; events from before it existed have none and stay valid.
    """

    customer_id = Id(required=True)
    shop_id = Id(required=True)
    payment_method_id = fields.String(required=True)
    consent = fields.Nested(Consent, load_default=None, allow_none=True)


@event("CustomerChargesRevoked", 1, topic=TOPIC, aggregate="Customer")
class CustomerChargesRevokedV1(CommandEvent):
    """The permission to charge was withdrawn (by the customer, or because the default card changed).

    ``consent``: when the customer withdrew it themself, how, when and the text shown (as for the consent);
    absent when the card changed or was removed (``reason`` says so).
    """

    customer_id = Id(required=True)
    shop_id = Id(required=True)
    consent = fields.Nested(Consent, load_default=None, allow_none=True)


@event("CustomerDeleted", 1, topic=TOPIC, aggregate="Customer")
class CustomerDeletedV1(CommandEvent):
    """The customer was removed from the shop (only possible with no subscription that is not cancelled)."""

    customer_id = Id(required=True)
    shop_id = Id(required=True)
