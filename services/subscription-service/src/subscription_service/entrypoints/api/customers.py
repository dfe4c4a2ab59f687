"""/api/v1/shops/{shop_id}/customers: a shop's customers; their card and charge permission (the customer only)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from servicekit.web.app import request_conn
from servicekit.web.blueprint import Blueprint
from servicekit.web.http import idempotent
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
                description="A shop's customers. Only the customer (with their own token) sets their card and "
                            "allows or revokes charges.")
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
    stripe_customer_id = Text(required=True, validate=V.Regexp(r"^cus_[A-Za-z0-9]{1,250}$"))
    payment_method_id = Text(required=True, validate=V.Regexp(r"^(pm|card|src)_[A-Za-z0-9]{1,250}$"))
    brand = Text(load_default=None, allow_none=True, validate=V.Length(max=40))
    last4 = Text(load_default=None, allow_none=True, validate=V.Regexp(r"^\d{4}$"))


class CardOut(ma.Schema):
    stripe_customer_id = ma.fields.String()
    payment_method_id = ma.fields.String()
    brand = ma.fields.String(allow_none=True)
    last4 = ma.fields.String(allow_none=True)


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
    """Change details (addresses here do not flow into existing subscriptions)."""
    return with_version(handlers.update_customer(request_conn(), caller(), str(shop_id), str(customer_id), args))


@blp.route(f"{PATH}/<uuid:customer_id>", methods=["DELETE"])
@blp.doc(parameters=WRITE)
@blp.response(204)
@problems(blp, *WRITE_PROBLEMS)
def delete_customer(shop_id, customer_id):  # type: ignore[no-untyped-def]
    """Remove a customer: 409 while they have subscriptions that are not cancelled."""
    handlers.delete_customer(request_conn(), caller(), str(shop_id), str(customer_id))
    return no_content()


@blp.route(f"{PATH}/<uuid:customer_id>/card", methods=["PUT"])
@blp.doc(parameters=WRITE)
@blp.arguments(CardIn)
@blp.response(200, CustomerOut)
@problems(blp, *WRITE_PROBLEMS)
def set_card(args: dict[str, Any], shop_id, customer_id):  # type: ignore[no-untyped-def]
    """The customer sets their default card (a different card revokes the charge permission)."""
    return with_version(handlers.set_card(request_conn(), caller(), str(shop_id), str(customer_id), args))


@blp.route(f"{PATH}/<uuid:customer_id>/card", methods=["DELETE"])
@blp.doc(parameters=WRITE)
@blp.response(200, CustomerOut)
@problems(blp, *WRITE_PROBLEMS)
def remove_card(shop_id, customer_id):  # type: ignore[no-untyped-def]
    """The customer removes their default card (and with it the charge permission)."""
    return with_version(handlers.remove_card(request_conn(), caller(), str(shop_id), str(customer_id)))


@blp.route(f"{PATH}/<uuid:customer_id>/charges-permission", methods=["PUT"])
@blp.doc(parameters=WRITE)
@blp.response(200, CustomerOut)
@problems(blp, *WRITE_PROBLEMS)
def allow_charges(shop_id, customer_id):  # type: ignore[no-untyped-def]
    """The customer allows the shop to charge their default card off-session (customer token only)."""
    return with_version(handlers.allow_charges(request_conn(), caller(), str(shop_id), str(customer_id)))


@blp.route(f"{PATH}/<uuid:customer_id>/charges-permission", methods=["DELETE"])
@blp.doc(parameters=WRITE)
@blp.response(200, CustomerOut)
@problems(blp, *WRITE_PROBLEMS)
def revoke_charges(shop_id, customer_id):  # type: ignore[no-untyped-def]
    """The customer withdraws the permission to charge (customer token only)."""
    return with_version(handlers.revoke_charges(request_conn(), caller(), str(shop_id), str(customer_id)))
