"""/api/v1/shops/{shop_id}/customers: a shop's customers; their card and charge permission (the customer only)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import current_app

from servicekit.web.app import request_conn
from servicekit.web.blueprint import Blueprint
from servicekit.web.http import idempotent
from subscription_service.adapters.stripe_cards import StripeCards
from subscription_service.entrypoints.api.common import (
    CREATE,
    READ_PROBLEMS,
    WRITE,
    WRITE_PROBLEMS,
    Address,
    AddressOut,
    StrictSchema,
    Text,
    caller,
    no_content,
    page,
    page_args,
    page_out,
    page_request,
    problems,
    with_version,
)
from subscription_service.service_layer import customers as handlers

blp = Blueprint("customers", __name__, url_prefix="/api/v1",
                description="A shop's customers. Only the customer, in a session opened with the link emailed to "
                            "them, saves their card (through a Stripe SetupIntent) and allows or revokes charges. "
                            "Stripe's ids are never shown.")
V = ma.validate


class CustomerIn(StrictSchema):
    email = ma.fields.Email(validate=V.Length(max=254))
    first_name = Text(validate=V.Length(min=1, max=100))
    last_name = Text(validate=V.Length(min=1, max=100))
    locale = ma.fields.String(allow_none=True, validate=V.OneOf(["en", "fr"]))
    bill_address = ma.fields.Nested(Address, allow_none=True)
    ship_address = ma.fields.Nested(Address, allow_none=True)


class CustomerCreateIn(CustomerIn):
    email = ma.fields.Email(required=True, validate=V.Length(max=254))
    first_name = Text(required=True, validate=V.Length(min=1, max=100))
    last_name = Text(required=True, validate=V.Length(min=1, max=100))


class CardIn(StrictSchema):
    setup_intent_id = Text(required=True, validate=V.Regexp(r"^seti_[A-Za-z0-9_]{1,250}$"), metadata={
        "description": "the card setup (POST .../card/setup) the customer confirmed in their browser"})


class CardOut(ma.Schema):
    brand = ma.fields.String(allow_none=True)
    last4 = ma.fields.String(allow_none=True)
    exp_month = ma.fields.Integer(allow_none=True)
    exp_year = ma.fields.Integer(allow_none=True)


class CardSetupOut(ma.Schema):
    setup_intent_id = ma.fields.String(required=True)
    client_secret = ma.fields.String(required=True, metadata={
        "description": "for Stripe.js confirmCardSetup in the customer's browser; never store or log it"})
    publishable_key = ma.fields.String(required=True)
    stripe_js_url = ma.fields.String(required=True)
    stripe_api_base = ma.fields.String(allow_none=True, metadata={"description": "null: api.stripe.com"})


class ConsentIn(StrictSchema):
    locale = ma.fields.String(load_default=None, allow_none=True, validate=V.OneOf(["en", "fr"]), metadata={
        "description": "the language of the text the customer was shown (default: the customer's, else the shop's)"})


class ConsentArgs(StrictSchema):
    locale = ma.fields.String(load_default=None, validate=V.OneOf(["en", "fr"]))


class ChargesPermissionOut(ma.Schema):
    allowed = ma.fields.Boolean(required=True)
    has_card = ma.fields.Boolean(required=True)
    locale = ma.fields.String(required=True)
    consent_text = ma.fields.String(required=True, metadata={"description": "show this to allow charges"})
    withdrawal_text = ma.fields.String(required=True, metadata={"description": "show this to withdraw them"})
    version = ma.fields.Integer()


class CustomerOut(ma.Schema):
    id = ma.fields.String(required=True)
    shop_id = ma.fields.String()
    email = ma.fields.String()
    first_name = ma.fields.String()
    last_name = ma.fields.String()
    locale = ma.fields.String(allow_none=True)
    bill_address = ma.fields.Nested(AddressOut, allow_none=True)
    ship_address = ma.fields.Nested(AddressOut, allow_none=True)
    card = ma.fields.Nested(CardOut, allow_none=True)
    allow_charges = ma.fields.Boolean(metadata={"description": "the customer lets the shop charge their card"})
    email_proven = ma.fields.Boolean(metadata={
        "description": "the address is the customer's own: they signed in with a link emailed to it, saved a card or "
                       "consented to charges; from then on only the customer changes it"})
    subscriptions_not_cancelled = ma.fields.Integer()
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()
    version = ma.fields.Integer()


class CustomerListArgs(page_args(["created_at", "email", "last_name"], "created_at")):  # type: ignore[misc]
    q = Text(load_default=None, validate=V.Length(min=1, max=200),
             metadata={"description": "text search in name and email"})


PATH = "/shops/<uuid:shop_id>/customers"


@blp.route(PATH, methods=["POST"])
@idempotent
@blp.doc(parameters=CREATE)
@blp.arguments(CustomerCreateIn)
@blp.response(201, CustomerOut)
@problems(blp, *WRITE_PROBLEMS)
def create_customer(args: dict[str, Any], shop_id):  # type: ignore[no-untyped-def]
    """Add a customer (email unique in the shop)."""
    return with_version(handlers.create_customer(request_conn(), caller(), str(shop_id), args), 201)


@blp.route(PATH, methods=["GET"])
@blp.arguments(CustomerListArgs, location="query")
@blp.response(200, page_out(CustomerOut))
@problems(blp, *READ_PROBLEMS)
def list_customers(args: dict[str, Any], shop_id):  # type: ignore[no-untyped-def]
    """The shop's customers (a customer sees only themself)."""
    q = args.pop("q")
    return page(*handlers.list_customers(request_conn(), caller(), str(shop_id), page_request(args), q))


@blp.route(f"{PATH}/<uuid:customer_id>", methods=["GET"])
@blp.response(200, CustomerOut)
@problems(blp, *READ_PROBLEMS)
def get_customer(shop_id, customer_id):  # type: ignore[no-untyped-def]
    return with_version(handlers.get_customer(request_conn(), caller(), str(shop_id), str(customer_id)))


@blp.route(f"{PATH}/<uuid:customer_id>", methods=["PATCH"])
@blp.doc(parameters=WRITE)
@blp.arguments(CustomerIn)
@blp.response(200, CustomerOut)
@problems(blp, *WRITE_PROBLEMS)
def update_customer(args: dict[str, Any], shop_id, customer_id):  # type: ignore[no-untyped-def]
    """Change details (addresses here do not flow into existing subscriptions).

    Managers change the details. Once the customer has proven their email address (signed in with a link emailed to
    it, or has a card on file or a consent to charges), only the customer changes it, from their own session opened
    with the emailed link (the only detail a customer changes here): a manager or the admin gets 403 saying why. Until
    then a manager may correct an address that was never proven. A new address ends every session opened with a link
    sent to the old one, the caller's included.
    """
    return with_version(handlers.update_customer(request_conn(), caller(), str(shop_id), str(customer_id), args))


@blp.route(f"{PATH}/<uuid:customer_id>", methods=["DELETE"])
@blp.doc(parameters=WRITE)
@blp.response(204)
@problems(blp, *WRITE_PROBLEMS)
def delete_customer(shop_id, customer_id):  # type: ignore[no-untyped-def]
    """Remove a customer: 409 while they have subscriptions that are not cancelled."""
    handlers.delete_customer(request_conn(), caller(), str(shop_id), str(customer_id))
    return no_content()


def _stripe() -> StripeCards:
    return current_app.extensions["stripe_cards"]  # type: ignore[no-any-return]


@blp.route(f"{PATH}/<uuid:customer_id>/card/setup", methods=["POST"])
@blp.response(201, CardSetupOut)
@problems(blp, *WRITE_PROBLEMS, 502, 503)
def start_card_setup(shop_id, customer_id):  # type: ignore[no-untyped-def]
    """Start saving a card: a Stripe SetupIntent (off-session use) for the customer's browser to confirm with
    Stripe.js (3-D Secure where the bank asks), then `PUT .../card` with its id. Only the customer, in a session
    opened with the link emailed to them; a token a manager issued, managers and admins get 403."""
    return handlers.start_card_setup(request_conn(), caller(), str(shop_id), str(customer_id), _stripe()), 201


@blp.route(f"{PATH}/<uuid:customer_id>/card", methods=["PUT"])
@blp.doc(parameters=WRITE)
@blp.arguments(CardIn)
@blp.response(200, CustomerOut)
@problems(blp, *WRITE_PROBLEMS, 502, 503)
def set_card(args: dict[str, Any], shop_id, customer_id):  # type: ignore[no-untyped-def]
    """Save the card of a confirmed card setup as the default card, once Stripe says it is on this customer's own
    Stripe Customer (brand, last four digits and expiry come from Stripe); a different card revokes the charge
    permission. Only the customer, in a session opened with the link emailed to them (403 otherwise)."""
    return with_version(handlers.set_card(request_conn(), caller(), str(shop_id), str(customer_id),
                                          args["setup_intent_id"], _stripe()))


@blp.route(f"{PATH}/<uuid:customer_id>/card", methods=["DELETE"])
@blp.doc(parameters=WRITE)
@blp.response(200, CustomerOut)
@problems(blp, *WRITE_PROBLEMS)
def remove_card(shop_id, customer_id):  # type: ignore[no-untyped-def]
    """The customer removes their default card (and with it the charge permission). Only the customer, in a
    session opened with the link emailed to them (403 otherwise)."""
    return with_version(handlers.remove_card(request_conn(), caller(), str(shop_id), str(customer_id)))


@blp.route(f"{PATH}/<uuid:customer_id>/charges-permission", methods=["GET"])
@blp.arguments(ConsentArgs, location="query")
@blp.response(200, ChargesPermissionOut)
@problems(blp, *READ_PROBLEMS)
def charges_permission(args: dict[str, Any], shop_id, customer_id):  # type: ignore[no-untyped-def]
    """Whether the customer allows charges, and the texts a page shows to allow or withdraw them (fr or en)."""
    return with_version(handlers.charges_permission(request_conn(), caller(), str(shop_id), str(customer_id),
                                                    args["locale"]))


@blp.route(f"{PATH}/<uuid:customer_id>/charges-permission", methods=["PUT"])
@blp.doc(parameters=WRITE)
@blp.arguments(ConsentIn)
@blp.response(200, CustomerOut)
@problems(blp, *WRITE_PROBLEMS)
def allow_charges(args: dict[str, Any], shop_id, customer_id):  # type: ignore[no-untyped-def]
    """The customer allows the shop to charge their default card off-session, having been shown the consent text
    of `GET .../charges-permission` in `locale`; the event records when, how, that text and its language. Only
    the customer, in a session opened with the link emailed to them (403 otherwise)."""
    return with_version(handlers.allow_charges(request_conn(), caller(), str(shop_id), str(customer_id),
                                               args["locale"]))


@blp.route(f"{PATH}/<uuid:customer_id>/charges-permission", methods=["DELETE"])
@blp.doc(parameters=WRITE)
@blp.arguments(ConsentArgs, location="query")
@blp.response(200, CustomerOut)
@problems(blp, *WRITE_PROBLEMS)
def revoke_charges(args: dict[str, Any], shop_id, customer_id):  # type: ignore[no-untyped-def]
    """The customer withdraws the permission to charge, having been shown the withdrawal text in `locale`;
    recorded like the consent. Only the customer, in a session opened with the link emailed to them."""
    return with_version(handlers.revoke_charges(request_conn(), caller(), str(shop_id), str(customer_id),
                                                args["locale"]))
