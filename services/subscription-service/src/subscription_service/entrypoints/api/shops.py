"""/api/v1/shops: shops (a platform admin creates them), their settings, shipping and payment methods."""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from servicekit.web.app import request_conn
from servicekit.web.blueprint import Blueprint
from servicekit.web.http import idempotent
from shared_events.contracts.shops import REMINDER_MAX_HOURS, default_payment_retry
from subscription_service.entrypoints.api.common import (
    CREATE,
    READ_PROBLEMS,
    WRITE,
    WRITE_PROBLEMS,
    StrictBool,
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
from subscription_service.service_layer import shops as handlers

blp = Blueprint("shops", __name__, url_prefix="/api/v1", description="Shops, their settings and their methods.")

V = ma.validate
TIMEZONE_DOC = ("An IANA time zone by its canonical name, e.g. Europe/Paris (or UTC). Old aliases (US/Eastern, "
                "Asia/Calcutta) are refused with the name to use; so are names that are no place (localtime, "
                "Factory, posixrules).")
CURRENCY_DOC = ("An ISO 4217 code that some country uses as legal tender today (CLDR's data, via Babel), e.g. EUR; "
                "XXX, XTS, metals and withdrawn codes are refused.")


RETRY_DEFAULT = default_payment_retry()
RETRY_DESCRIPTION = (
    "When billing-service charges a failed card payment again: `delays_hours[n-1]` hours after attempt n failed, "
    "`max_attempts` attempts in all. Only soft declines and errors on Stripe's side are retried; hard declines, "
    "failed 3-D Secure, no card and no permission never are (a manager can retry at once). A new shop created "
    f"without it gets {' then '.join(f'{h} h' for h in RETRY_DEFAULT['delays_hours'])}, "
    f"{RETRY_DEFAULT['max_attempts']} attempts in all.")


class RetryPolicy(StrictSchema):
    delays_hours = ma.fields.List(ma.fields.Integer(strict=True, validate=V.Range(min=0, max=24 * 30)),
                                  required=True, validate=V.Length(max=9),
                                  metadata={"description": "hours before each retry, increasing: one per retry "
                                                           "(max_attempts - 1 of them)"})
    max_attempts = ma.fields.Integer(strict=True, required=True, validate=V.Range(min=1, max=10),
                                     metadata={"description": "attempts in all, the first included (1 = no retry)"})


LATE_PLACEMENT = (
    "What happens to the subscriptions due in an order cycle when the platform processes the cycle's opening (or "
    "the change that made a subscription due) only after the cycle has closed, e.g. after an outage. "
    "`while_open` (default): orders are placed only while the cycle is open; such a due gets no order, and the "
    "shop is told: each one is an `OrderDueMissed` event, listed with its reason in the placement summary email "
    "and in `GET .../order-cycles/{id}/placement-summary` (order-service). `always`: such a due is placed late "
    "and confirmed at once (the order is marked `late`). An open cycle whose opening is processed late is "
    "placed normally under either policy.")


REMINDER = (
    "The cut-off reminder: this many hours (1 to 168) before each order cycle closes, every customer whose placed "
    "order can still be changed (`allow_order_changes`) is emailed a reminder with the link to their order, once "
    "per order, in their language. `null` (default): no reminder. The scheduler emits `OrderCycleClosingSoon` at "
    "that instant; a change applies to the cycles not reminded yet.")


INVOICES = (
    "Every paid order gets a receipt (a PDF, order-service's `GET .../orders/{id}/receipt.pdf`). `true`: it is an "
    "invoice numbered in the shop's own sequence (1, 2, 3..., never skipped or repeated), from the next order paid "
    "on. Default `false`.")
ATTACH = ("`true`: the receipt's (or invoice's) PDF is attached to the email telling the customer their order is "
          "paid. Default `false`.")
TAX_CATEGORY_DOC = ("a tax category: a slug of lower-case letters, digits, _ and - (e.g. reduced, standard, zero), "
                    "as catalog variants name it (catalog.events tax_category)")
PRICES_INCLUDE_TAX = (
    "whether the catalog's prices and the methods' fees include tax (default false). true: an order's total is its "
    "items and fees, and its tax_total says how much of it is tax; false: the tax is added to the total. Each line's "
    "tax is computed on its total, each fee's on the fee, rounded half-even (shared_events.money). Orders keep the "
    "setting and the rates they were placed with.")
TAX_RATES = ("the rate of each tax category the shop's variants and methods name, one entry per category (default "
             "none: nothing is taxed; a variant whose category has no rate is not taxed). A category a shipping or "
             "payment method uses cannot be removed.")


class TaxRateIn(StrictSchema):
    category = Text(required=True, validate=V.Regexp(r"[a-z0-9_-]{1,40}\Z", error="Not a tax category (a-z, 0-9, "
                                                                                  "_ and -, up to 40)."),
                    metadata={"description": TAX_CATEGORY_DOC})
    rate_bp = ma.fields.Integer(strict=True, required=True, validate=V.Range(min=0, max=10_000),
                                metadata={"description": "basis points: 5.5 % = 550, 20 % = 2000 (0 to 10000)"})


class TaxRateOut(ma.Schema):
    category = ma.fields.String()
    rate_bp = ma.fields.Integer()


class ShopSettingsIn(StrictSchema):
    """Every setting; on create name, timezone, currency and contact_email are required."""

    name = Text(validate=V.Length(min=1, max=200))
    timezone = Text(validate=V.Length(min=1, max=64), metadata={"description": TIMEZONE_DOC})
    currency = Text(validate=V.Length(equal=3), metadata={"description": CURRENCY_DOC})
    locale = ma.fields.String(validate=V.OneOf(["en", "fr"]))
    contact_email = ma.fields.Email(validate=V.Length(max=254))
    owner_email = ma.fields.Email(allow_none=True, validate=V.Length(max=254))
    subscriptions_enabled = StrictBool(metadata={"description": "the kill switch: false = no new orders"})
    allow_order_changes = StrictBool(metadata={"description": "customers may change/cancel placed orders"})
    allow_customer_skip = StrictBool(metadata={"description": (
        "customers may skip and resume single occurrences, take holidays (skip every delivery between two dates), "
        "and pause (until a date or not) and unpause their own subscriptions")})
    allocation_policy = ma.fields.String(validate=V.OneOf(["first_come", "fair_share"]))
    late_placement = ma.fields.String(validate=V.OneOf(["while_open", "always"]),
                                      metadata={"description": LATE_PLACEMENT})
    payment_retry = ma.fields.Nested(RetryPolicy, metadata={"description": RETRY_DESCRIPTION})
    stripe_account_id = Text(allow_none=True, validate=[V.Length(min=1, max=255), V.Regexp(
        r"acct_[A-Za-z0-9]+\Z", error="Not a Stripe account id (acct_ then letters and digits).")],
        metadata={"description": "the shop's connected Stripe account (acct_...): charges are made on it"})
    order_reminder_hours_before_close = ma.fields.Integer(
        strict=True, allow_none=True, validate=V.Range(min=1, max=REMINDER_MAX_HOURS),
        metadata={"description": REMINDER})
    invoices_enabled = StrictBool(metadata={"description": INVOICES})
    attach_invoice_to_email = StrictBool(metadata={"description": ATTACH})
    prices_include_tax = StrictBool(metadata={"description": PRICES_INCLUDE_TAX})
    tax_rates = ma.fields.List(ma.fields.Nested(TaxRateIn), validate=V.Length(max=20),
                               metadata={"description": TAX_RATES})


class ShopCreateIn(ShopSettingsIn):
    payment_retry = ma.fields.Nested(RetryPolicy, metadata={"description": RETRY_DESCRIPTION,
                                                            "default": RETRY_DEFAULT})
    name = Text(required=True, validate=V.Length(min=1, max=200))
    timezone = Text(required=True, validate=V.Length(min=1, max=64), metadata={"description": TIMEZONE_DOC})
    currency = Text(required=True, validate=V.Length(equal=3), metadata={"description": CURRENCY_DOC})
    contact_email = ma.fields.Email(required=True, validate=V.Length(max=254))


class RetryPolicyOut(ma.Schema):
    delays_hours = ma.fields.List(ma.fields.Integer())
    max_attempts = ma.fields.Integer()


class ShopOut(ma.Schema):
    id = ma.fields.String(required=True)
    name = ma.fields.String()
    timezone = ma.fields.String()
    currency = ma.fields.String()
    locale = ma.fields.String()
    contact_email = ma.fields.String()
    owner_email = ma.fields.String(allow_none=True)
    subscriptions_enabled = ma.fields.Boolean()
    allow_order_changes = ma.fields.Boolean()
    allow_customer_skip = ma.fields.Boolean()
    allocation_policy = ma.fields.String()
    late_placement = ma.fields.String(metadata={"description": LATE_PLACEMENT})
    payment_retry = ma.fields.Nested(RetryPolicyOut, metadata={"description": RETRY_DESCRIPTION})
    stripe_account_id = ma.fields.String(allow_none=True)
    order_reminder_hours_before_close = ma.fields.Integer(allow_none=True, dump_default=None,
                                                          metadata={"description": REMINDER})
    invoices_enabled = ma.fields.Boolean(dump_default=False, metadata={"description": INVOICES})
    attach_invoice_to_email = ma.fields.Boolean(dump_default=False, metadata={"description": ATTACH})
    prices_include_tax = ma.fields.Boolean(metadata={"description": PRICES_INCLUDE_TAX})
    tax_rates = ma.fields.List(ma.fields.Nested(TaxRateOut), metadata={"description": TAX_RATES})
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()
    version = ma.fields.Integer(metadata={"description": "the ETag"})


class ShopListArgs(page_args(["created_at", "name"], "created_at")):  # type: ignore[misc]
    q = Text(load_default=None, validate=V.Length(min=1, max=200), metadata={"description": "name contains"})


class TimeZoneOut(ma.Schema):
    name = ma.fields.String(required=True, metadata={"description": "e.g. Europe/Paris"})


class TimeZonesOut(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(TimeZoneOut), required=True)


class MethodIn(StrictSchema):
    name = Text(validate=V.Length(min=1, max=200))
    description = Text(allow_none=True, validate=V.Length(max=1000))
    fee_flat = ma.fields.Integer(strict=True, validate=V.Range(min=0, max=100_000_000),
                                 metadata={"description": "minor units (cents)"})
    fee_percent_bp = ma.fields.Integer(strict=True, validate=V.Range(min=0, max=10_000),
                                       metadata={"description": "basis points of the base (150 = 1.5 %)"})
    active = StrictBool()
    tax_category = Text(allow_none=True, validate=V.Regexp(r"[a-z0-9_-]{1,40}\Z", error="Not a tax category."),
                        metadata={"description": "the fee's tax category, one of the shop's tax_rates (null, the "
                                                 "default: the fee is not taxed)"})


class ShippingIn(MethodIn):
    pickup = StrictBool()


class ShippingCreateIn(ShippingIn):
    name = Text(required=True, validate=V.Length(min=1, max=200))
    fee_flat = ma.fields.Integer(strict=True, required=True, validate=V.Range(min=0, max=100_000_000))
    fee_percent_bp = ma.fields.Integer(strict=True, required=True, validate=V.Range(min=0, max=10_000))


class PaymentIn(MethodIn):
    kind = ma.fields.String(validate=V.OneOf(["cash", "stripe"]))


class PaymentCreateIn(PaymentIn):
    name = Text(required=True, validate=V.Length(min=1, max=200))
    fee_flat = ma.fields.Integer(strict=True, required=True, validate=V.Range(min=0, max=100_000_000))
    fee_percent_bp = ma.fields.Integer(strict=True, required=True, validate=V.Range(min=0, max=10_000))
    kind = ma.fields.String(required=True, validate=V.OneOf(["cash", "stripe"]))


class MethodOut(ma.Schema):
    id = ma.fields.String(required=True)
    shop_id = ma.fields.String()
    name = ma.fields.String()
    description = ma.fields.String(allow_none=True)
    fee_flat = ma.fields.Integer()
    fee_percent_bp = ma.fields.Integer()
    active = ma.fields.Boolean()
    tax_category = ma.fields.String(allow_none=True, metadata={"description": "null: the fee is not taxed"})
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()
    version = ma.fields.Integer(metadata={"description": "the ETag: the shop version when this method last changed"})


class ShippingOut(MethodOut):
    pickup = ma.fields.Boolean()


class PaymentOut(MethodOut):
    kind = ma.fields.String()


class MethodListArgs(page_args(["created_at", "name"], "created_at")):  # type: ignore[misc]
    active = ma.fields.Boolean(load_default=None)


@blp.route("/shops", methods=["POST"])
@idempotent
@blp.doc(parameters=CREATE)
@blp.arguments(ShopCreateIn)
@blp.response(201, ShopOut)
@problems(blp, *WRITE_PROBLEMS)
def create_shop(args: dict[str, Any]):  # type: ignore[no-untyped-def]
    """Create a shop (platform admin)."""
    return with_version(handlers.create_shop(request_conn(), caller(), args), 201)


@blp.route("/shops", methods=["GET"])
@blp.arguments(ShopListArgs, location="query")
@blp.response(200, page_out(ShopOut))
@problems(blp, *READ_PROBLEMS)
def list_shops(args: dict[str, Any]):  # type: ignore[no-untyped-def]
    """The shops the caller belongs to (every shop for the admin)."""
    q = args.pop("q")
    return page(*handlers.list_shops(request_conn(), caller(), page_request(args), q))


@blp.route("/shops/<uuid:shop_id>", methods=["GET"])
@blp.response(200, ShopOut)
@problems(blp, *READ_PROBLEMS)
def get_shop(shop_id):  # type: ignore[no-untyped-def]
    return with_version(handlers.get_shop(request_conn(), caller(), str(shop_id)))


@blp.route("/shops/<uuid:shop_id>", methods=["PATCH"])
@blp.doc(parameters=WRITE)
@blp.arguments(ShopSettingsIn)
@blp.response(200, ShopOut)
@problems(blp, *WRITE_PROBLEMS)
def update_shop(args: dict[str, Any], shop_id):  # type: ignore[no-untyped-def]
    """Change some settings (managers of the shop)."""
    return with_version(handlers.update_shop(request_conn(), caller(), str(shop_id), args))


@blp.route("/time-zones", methods=["GET"])
@blp.response(200, TimeZonesOut)
@problems(blp, 401)
def list_time_zones():  # type: ignore[no-untyped-def]
    """Every time zone a shop may have (`timezone`), by name, in alphabetical order: the IANA database's zones
    and locations, and UTC; never an old alias or a name that is no place. The same list the shop's `timezone`
    is checked against, so a form that offers it offers nothing the API refuses. Any caller."""
    return {"items": [{"name": name} for name in handlers.time_zones()]}


def _method_routes(kind: str, path: str, create_in: type, update_in: type, out: type) -> None:
    @blp.route(f"/shops/<uuid:shop_id>/{path}", methods=["POST"], endpoint=f"create_{kind}_method")
    @idempotent
    @blp.doc(parameters=CREATE, summary=f"Add a {kind} method")
    @blp.arguments(create_in)
    @blp.response(201, out)
    @problems(blp, *WRITE_PROBLEMS)
    def create(args, shop_id):  # type: ignore[no-untyped-def]
        return with_version(handlers.create_method(request_conn(), caller(), str(shop_id), kind, args), 201)

    @blp.route(f"/shops/<uuid:shop_id>/{path}", methods=["GET"], endpoint=f"list_{kind}_methods")
    @blp.doc(summary=f"List the {kind} methods")
    @blp.arguments(MethodListArgs, location="query")
    @blp.response(200, page_out(out))
    @problems(blp, *READ_PROBLEMS)
    def list_(args, shop_id):  # type: ignore[no-untyped-def]
        active = args.pop("active")
        return page(*handlers.list_methods(request_conn(), caller(), str(shop_id), kind, page_request(args), active))

    @blp.route(f"/shops/<uuid:shop_id>/{path}/<uuid:method_id>", methods=["GET"], endpoint=f"get_{kind}_method")
    @blp.doc(summary=f"One {kind} method")
    @blp.response(200, out)
    @problems(blp, *READ_PROBLEMS)
    def get(shop_id, method_id):  # type: ignore[no-untyped-def]
        return with_version(handlers.get_method(request_conn(), caller(), str(shop_id), kind, str(method_id)))

    @blp.route(f"/shops/<uuid:shop_id>/{path}/<uuid:method_id>", methods=["PATCH"],
               endpoint=f"update_{kind}_method")
    @blp.doc(parameters=WRITE, summary=f"Change a {kind} method")
    @blp.arguments(update_in)
    @blp.response(200, out)
    @problems(blp, *WRITE_PROBLEMS)
    def update(args, shop_id, method_id):  # type: ignore[no-untyped-def]
        return with_version(handlers.update_method(request_conn(), caller(), str(shop_id), kind, str(method_id),
                                                   args))

    @blp.route(f"/shops/<uuid:shop_id>/{path}/<uuid:method_id>", methods=["DELETE"],
               endpoint=f"remove_{kind}_method")
    @blp.doc(parameters=WRITE, summary=f"Remove a {kind} method (subscriptions using it keep it until edited)")
    @blp.response(204)
    @problems(blp, *WRITE_PROBLEMS)
    def remove(shop_id, method_id):  # type: ignore[no-untyped-def]
        handlers.remove_method(request_conn(), caller(), str(shop_id), kind, str(method_id))
        return no_content()


_method_routes("shipping", "shipping-methods", ShippingCreateIn, ShippingIn, ShippingOut)
_method_routes("payment", "payment-methods", PaymentCreateIn, PaymentIn, PaymentOut)
