"""/api/v1/shops/{shop_id}/subscriptions: subscriptions, their occurrences and their change history."""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from servicekit.web.app import request_conn
from servicekit.web.blueprint import Blueprint
from servicekit.web.http import decode_cursor, idempotent
from subscription_service.domain.occurrences import OCCURRENCE_STATES
from subscription_service.domain.subscriptions import OPEN_ORDER_CHOICES, STATES
from subscription_service.entrypoints.api.common import (
    CREATE,
    READ_PROBLEMS,
    WRITE,
    WRITE_PROBLEMS,
    Address,
    AddressOut,
    Id,
    StrictSchema,
    Text,
    When,
    caller,
    page,
    page_args,
    page_out,
    page_request,
    problems,
    with_version,
)
from subscription_service.service_layer import subscriptions as handlers

blp = Blueprint("subscriptions", __name__, url_prefix="/api/v1",
                description="Subscriptions (state: cancelled > paused > pending > ended > active), their "
                            "occurrences (one per order cycle closing within [begins_at, ends_at]) and history.")
V = ma.validate


class ItemIn(StrictSchema):
    variant_id = Id(required=True)
    quantity = ma.fields.Integer(strict=True, required=True, validate=V.Range(min=0, max=1_000_000), metadata={
        "description": "at least 1; 0 only sent back unchanged on a line saved with it before 0 was refused (kept, "
                       "never ordered, with a warning, until changed): 422 on a new line or a changed quantity"})
    substitutes = ma.fields.List(Id(), load_default=list, validate=V.Length(max=3), metadata={
        "description": "up to 3 other products of the shop, preferred first: when this one cannot be had at "
                       "placement (deleted, unavailable, out of stock), the first that can is placed instead, at its "
                       "own price, up to the quantity; neither this product nor the same one twice"})


class EstimateItemIn(ItemIn):
    """An item of a form being filled in: any quantity from 0 is priced (the form says what it refuses)."""

    quantity = ma.fields.Integer(strict=True, required=True, validate=V.Range(min=0, max=1_000_000))


class SubscriptionUpdateIn(StrictSchema):
    items = ma.fields.List(ma.fields.Nested(ItemIn), validate=V.Length(max=200))
    shipping_method_id = Id()
    payment_method_id = Id()
    bill_address = ma.fields.Nested(Address)
    ship_address = ma.fields.Nested(Address)
    begins_at = When()
    ends_at = When(allow_none=True)
    customer_id = Id(metadata={"description": "cannot change: only accepted unchanged"})
    schedule_id = Id(metadata={"description": "cannot change: only accepted unchanged"})


class SubscriptionCreateIn(StrictSchema):
    """Reference section 9: every rule is checked and reported field by field (422)."""

    customer_id = Id(required=True)
    schedule_id = Id(required=True)
    shipping_method_id = Id(required=True)
    payment_method_id = Id(required=True)
    bill_address = ma.fields.Nested(Address, required=True)
    ship_address = ma.fields.Nested(Address, required=True)
    begins_at = When(required=True)
    ends_at = When(load_default=None, allow_none=True)
    items = ma.fields.List(ma.fields.Nested(ItemIn), required=True, validate=V.Length(max=200))


class OpenOrdersIn(StrictSchema):
    open_orders = ma.fields.String(load_default=None, validate=V.OneOf(OPEN_ORDER_CHOICES),
                                   metadata={"description": "what to do with orders already placed in open cycles "
                                                            "(required when there are some: 409 otherwise)"})


class PauseIn(OpenOrdersIn):
    until = ma.fields.Date(load_default=None, allow_none=True, metadata={
        "description": "optional: a date of the shop's time zone, after today and at most 366 days away; the "
                       "subscription resumes by itself at the start of that day (SubscriptionUnpaused, automatic, "
                       "actor system, in its history). Without it, paused until someone unpauses it."})


class HolidayIn(StrictSchema):
    first_day = ma.fields.Date(required=True, data_key="from", metadata={
        "description": "first day away (shop's time zone), today or later"})
    last_day = ma.fields.Date(required=True, data_key="to", metadata={
        "description": "last day away, included, on or after `from`, at most 366 days from today"})


class ItemOut(ma.Schema):
    variant_id = ma.fields.String()
    quantity = ma.fields.Integer()
    price_estimate = ma.fields.Integer(allow_none=True, metadata={
        "description": "unit price, minor units: the catalog's price now (an order placed now is priced so)"})
    total_estimate = ma.fields.Integer(allow_none=True)
    name = ma.fields.String(allow_none=True)
    available = ma.fields.Boolean()
    substitutes = ma.fields.List(ma.fields.String(), metadata={
        "description": "variant ids placed instead when this product cannot be had, preferred first"})
    substitute_names = ma.fields.List(ma.fields.String(allow_none=True), metadata={
        "description": "their names, in the same order (null: not in the catalog)"})


class EstimateOut(ma.Schema):
    """What an order placed now would cost if every item were had in full: the catalog's prices and the methods'
    fees as they are now (they follow catalog price changes), by the rules order-service prices orders with."""

    item_total = ma.fields.Integer(allow_none=True)
    shipping_fee = ma.fields.Integer(allow_none=True)
    payment_fee = ma.fields.Integer(allow_none=True)
    tax_total = ma.fields.Integer(allow_none=True, metadata={
        "description": "the tax of such an order (each item at its category's rate, each fee at its method's): "
                       "part of total where the shop's prices include tax, added to it where they exclude it"})
    shipping_tax = ma.fields.Integer(allow_none=True, metadata={"description": "the shipping fee's tax"})
    payment_tax = ma.fields.Integer(allow_none=True, metadata={"description": "the payment fee's tax"})
    total = ma.fields.Integer(allow_none=True)


class EstimateIn(StrictSchema):
    """A subscription's form as it is being filled in: its items and, once chosen, its methods."""

    items = ma.fields.List(ma.fields.Nested(EstimateItemIn), required=True, validate=V.Length(max=200))
    shipping_method_id = Id(load_default=None, allow_none=True)
    payment_method_id = Id(load_default=None, allow_none=True)


class DraftEstimateOut(ma.Schema):
    currency = ma.fields.String()
    items = ma.fields.List(ma.fields.Nested(lambda: ItemOut()), metadata={
        "description": "each item priced as on a saved subscription; an unknown product: name, price and total "
                       "null, available false"})
    estimate = ma.fields.Nested(EstimateOut, metadata={
        "description": "null totals until every product is known and both methods are chosen"})


class CustomerRef(ma.Schema):
    id = ma.fields.String()
    email = ma.fields.String()
    first_name = ma.fields.String()
    last_name = ma.fields.String()


class SubscriptionOut(ma.Schema):
    id = ma.fields.String(required=True)
    shop_id = ma.fields.String()
    customer_id = ma.fields.String()
    customer = ma.fields.Nested(CustomerRef)
    schedule_id = ma.fields.String()
    schedule_name = ma.fields.String()
    state = ma.fields.String(metadata={"description": " | ".join(STATES)})
    currency = ma.fields.String()
    items = ma.fields.List(ma.fields.Nested(ItemOut))
    shipping_method_id = ma.fields.String(allow_none=True)
    payment_method_id = ma.fields.String(allow_none=True)
    payment_kind = ma.fields.String(allow_none=True)
    bill_address = ma.fields.Nested(AddressOut, allow_none=True)
    ship_address = ma.fields.Nested(AddressOut, allow_none=True)
    begins_at = ma.fields.DateTime(allow_none=True)
    ends_at = ma.fields.DateTime(allow_none=True)
    begins_at_local = ma.fields.String(allow_none=True)
    ends_at_local = ma.fields.String(allow_none=True)
    paused_at = ma.fields.DateTime(allow_none=True)
    paused_until = ma.fields.DateTime(allow_none=True, metadata={
        "description": "a pause until a date: when it resumes by itself (the start of `resumes_on`)"})
    resumes_on = ma.fields.Date(allow_none=True, metadata={"description": "that day, in the shop's time zone"})
    cancelled_at = ma.fields.DateTime(allow_none=True)
    estimate = ma.fields.Nested(EstimateOut)
    skipped_order_cycle_ids = ma.fields.List(ma.fields.String())
    warnings = ma.fields.List(ma.fields.String())
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()
    version = ma.fields.Integer()


class SubscriptionListArgs(page_args(["created_at", "begins_at", "customer_email"], "created_at")):  # type: ignore
    state = ma.fields.List(ma.fields.String(validate=V.OneOf(STATES)), load_default=None,
                           metadata={"description": "repeat for several; default: every state but cancelled"})
    customer_id = ma.fields.UUID(load_default=None)
    schedule_id = ma.fields.UUID(load_default=None)
    q = Text(load_default=None, validate=V.Length(min=1, max=200),
             metadata={"description": "text search in the customer's name and email"})


class OrderOut(ma.Schema):
    id = ma.fields.String()
    number = ma.fields.String(allow_none=True)
    status = ma.fields.String()
    totals = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer(allow_none=True))
    cancel_cause = ma.fields.String(allow_none=True)
    update_issues = ma.fields.List(ma.fields.Dict())


class OrderPaymentOut(ma.Schema):
    id = ma.fields.String()
    status = ma.fields.String()
    amount = ma.fields.Integer(allow_none=True)
    message = ma.fields.String(allow_none=True)
    authorization_url = ma.fields.String(allow_none=True)
    final = ma.fields.Boolean(allow_none=True)


class MissedOut(ma.Schema):
    reason = ma.fields.String(metadata={"description": (
        "why no order was placed: open_processed_after_close (the platform processed the cycle's open only after "
        "it closed) | change_processed_after_close (the change that made it due, made while the cycle was open, "
        "was processed after it closed)")})
    due_reason = ma.fields.String(metadata={"description": "why it was due (as an OrderDue's reason)"})
    due_at = ma.fields.DateTime(metadata={"description": "when it became due"})


OCCURRENCE_STATE_DESCRIPTION = (
    " | ".join(OCCURRENCE_STATES) + ". `missed`: the occurrence was due but gets no order because the platform "
    "processed it only after the cycle had closed and the shop places no order late (late_placement "
    "`while_open`); its `missed` field says why. `not_placed`: the cycle closed and neither an order for it "
    "nor a missed due is known.")


class OccurrenceOut(ma.Schema):
    order_cycle_id = ma.fields.String()
    order_cycle_name = ma.fields.String()
    opens_at = ma.fields.DateTime()
    closes_at = ma.fields.DateTime()
    opens_at_local = ma.fields.String()
    closes_at_local = ma.fields.String()
    cycle_status = ma.fields.String()
    state = ma.fields.String(metadata={"description": OCCURRENCE_STATE_DESCRIPTION})
    skipped = ma.fields.Boolean()
    in_range = ma.fields.Boolean(metadata={"description": "false: kept because an order exists for it"})
    total = ma.fields.Integer(allow_none=True, metadata={
        "description": "the order's total, or without an order the subscription's estimate (as it is now)"})
    total_is_estimate = ma.fields.Boolean()
    can_skip = ma.fields.Boolean()
    can_resume = ma.fields.Boolean()
    order = ma.fields.Nested(OrderOut, allow_none=True)
    payment = ma.fields.Nested(OrderPaymentOut, allow_none=True)
    missed = ma.fields.Nested(MissedOut, allow_none=True, metadata={
        "description": "set when the state is `missed` (scheduler-service's OrderDueMissed), else null"})


class HolidayOut(ma.Schema):
    first_day = ma.fields.Date(data_key="from")
    last_day = ma.fields.Date(data_key="to")
    skipped_now = ma.fields.Integer(metadata={"description": "occurrences this request skipped (0 on a repeat)"})
    occurrences = ma.fields.List(ma.fields.Nested(OccurrenceOut), metadata={
        "description": "every occurrence in the holiday, as it is now (skipped)"})


class OccurrenceListArgs(StrictSchema):
    limit = ma.fields.Integer(load_default=100, validate=V.Range(min=1, max=200))
    cursor = Text(load_default=None, validate=V.Length(max=1000))
    state = ma.fields.List(ma.fields.String(validate=V.OneOf(OCCURRENCE_STATES)), load_default=None)
    closes_after = When(load_default=None)


class HistoryEntryOut(ma.Schema):
    version = ma.fields.Integer()
    event_type = ma.fields.String()
    occurred_at = ma.fields.DateTime()
    actor = ma.fields.Dict(allow_none=True, metadata={"description": "who: {type, id}"})
    reason = ma.fields.String(allow_none=True)
    who = ma.fields.Nested(lambda: WhoOut(), allow_none=True, metadata={
        "description": "only for the shop's managers: who in words (a customer's name and email; for a session "
                       "opened with an emailed link, that address; else the credential's label); null for the "
                       "platform's own changes or an unknown credential"})
    data = ma.fields.Dict(metadata={"description": "what: the event's content (changes and previous values)"})


class WhoOut(ma.Schema):
    name = ma.fields.String(allow_none=True)
    email = ma.fields.String(allow_none=True)


class HistoryArgs(StrictSchema):
    limit = ma.fields.Integer(load_default=100, validate=V.Range(min=1, max=200))
    cursor = Text(load_default=None, validate=V.Length(max=1000))


PATH = "/shops/<uuid:shop_id>/subscriptions"
ONE = f"{PATH}/<uuid:subscription_id>"


@blp.route(PATH, methods=["POST"])
@idempotent
@blp.doc(parameters=CREATE)
@blp.arguments(SubscriptionCreateIn)
@blp.response(201, SubscriptionOut)
@problems(blp, *WRITE_PROBLEMS)
def create_subscription(args: dict[str, Any], shop_id):  # type: ignore[no-untyped-def]
    """Create a subscription (managers); prices and fees are estimated from the catalog."""
    return with_version(handlers.create_subscription(request_conn(), caller(), str(shop_id), args), 201)


@blp.route(f"{PATH}/estimate", methods=["POST"])
@blp.arguments(EstimateIn)
@blp.response(200, DraftEstimateOut)
@problems(blp, 401, 403, 404, 422)
def estimate_subscription(args: dict[str, Any], shop_id):  # type: ignore[no-untyped-def]
    """The live estimate of a subscription being filled in (managers): what an order with these items and methods
    would cost if placed now, by the rule and in the shape of a saved subscription's `items` and `estimate`.
    Changes nothing; only the shapes are checked (422), the rules are checked when the subscription is saved."""
    return handlers.estimate(request_conn(), caller(), str(shop_id), args)


@blp.route(PATH, methods=["GET"])
@blp.arguments(SubscriptionListArgs, location="query")
@blp.response(200, page_out(SubscriptionOut))
@problems(blp, *READ_PROBLEMS)
def list_subscriptions(args: dict[str, Any], shop_id):  # type: ignore[no-untyped-def]
    """Filter by state, customer, schedule, text; a customer lists only their own."""
    filters = {"states": args.pop("state"), "q": args.pop("q"),
               **{k: str(args[k]) if args[k] is not None else None for k in ("customer_id", "schedule_id")}}
    args.pop("customer_id"), args.pop("schedule_id")
    return page(*handlers.list_subscriptions(request_conn(), caller(), str(shop_id), page_request(args), **filters))


@blp.route(ONE, methods=["GET"])
@blp.response(200, SubscriptionOut)
@problems(blp, *READ_PROBLEMS)
def get_subscription(shop_id, subscription_id):  # type: ignore[no-untyped-def]
    return with_version(handlers.get_subscription(request_conn(), caller(), str(shop_id), str(subscription_id)))


@blp.route(ONE, methods=["PATCH"])
@blp.doc(parameters=WRITE)
@blp.arguments(SubscriptionUpdateIn)
@blp.response(200, SubscriptionOut)
@problems(blp, *WRITE_PROBLEMS)
def update_subscription(args: dict[str, Any], shop_id, subscription_id):  # type: ignore[no-untyped-def]
    """Change items, quantities, addresses, methods, dates (customer and schedule cannot change). Managers; a
    customer only the substitutes of their own subscription's products (`items` alone, the same products and
    quantities in the same order: anything else is a 403)."""
    return with_version(handlers.update_subscription(request_conn(), caller(), str(shop_id), str(subscription_id),
                                                     args))


@blp.route(f"{ONE}/pause", methods=["POST"])
@blp.doc(parameters=WRITE)
@blp.arguments(PauseIn)
@blp.response(200, SubscriptionOut)
@problems(blp, *WRITE_PROBLEMS)
def pause(args: dict[str, Any], shop_id, subscription_id):  # type: ignore[no-untyped-def]
    """Pause: no new orders, until `until` if given. 409 asks keep|cancel when orders are already placed in open
    cycles. Managers; the customer too when the shop allows it (`allow_customer_skip`), else 403."""
    return with_version(handlers.pause(request_conn(), caller(), str(shop_id), str(subscription_id),
                                       args["open_orders"], args["until"]))


@blp.route(f"{ONE}/holidays", methods=["POST"])
@blp.doc(parameters=WRITE)
@blp.arguments(HolidayIn)
@blp.response(200, HolidayOut)
@problems(blp, *WRITE_PROBLEMS)
def holidays(args: dict[str, Any], shop_id, subscription_id):  # type: ignore[no-untyped-def]
    """Skip in one step every occurrence whose cycle closes from `from` to `to` (shop's time zone) and is still
    open to skipping: one OccurrenceSkipped each (with `holiday`), in its history. Asking again skips nothing more
    (same answer). 422 by field: a day before today, `to` before `from`, too far, no delivery in the range.
    Managers; the customer too when the shop allows it (`allow_customer_skip`), else 403. ETag: the
    subscription's."""
    data, version = handlers.take_holidays(request_conn(), caller(), str(shop_id), str(subscription_id),
                                           args["first_day"], args["last_day"])
    return with_version(data, version=version)


@blp.route(f"{ONE}/unpause", methods=["POST"])
@blp.doc(parameters=WRITE)
@blp.response(200, SubscriptionOut)
@problems(blp, *WRITE_PROBLEMS)
def unpause(shop_id, subscription_id):  # type: ignore[no-untyped-def]
    """Unpause after re-validating everything (422 if a rule now fails). Managers; the customer too when the shop
    allows it (`allow_customer_skip`)."""
    return with_version(handlers.unpause(request_conn(), caller(), str(shop_id), str(subscription_id)))


@blp.route(f"{ONE}/cancel", methods=["POST"])
@blp.doc(parameters=WRITE)
@blp.arguments(OpenOrdersIn)
@blp.response(200, SubscriptionOut)
@problems(blp, *WRITE_PROBLEMS)
def cancel(args: dict[str, Any], shop_id, subscription_id):  # type: ignore[no-untyped-def]
    """Cancel for good. 409 asks keep|cancel when orders are already placed in open cycles."""
    return with_version(handlers.cancel(request_conn(), caller(), str(shop_id), str(subscription_id),
                                        args["open_orders"]))


@blp.route(f"{ONE}/history", methods=["GET"])
@blp.arguments(HistoryArgs, location="query")
@blp.response(200, page_out(HistoryEntryOut))
@problems(blp, *READ_PROBLEMS)
def history(args: dict[str, Any], shop_id, subscription_id):  # type: ignore[no-untyped-def]
    """Every change: who, when, what, and the reason they gave (X-Change-Reason)."""
    return page(*handlers.history(request_conn(), caller(), str(shop_id), str(subscription_id),
                                  limit=args["limit"], cursor=decode_cursor(args["cursor"], ("int",))))


@blp.route(f"{ONE}/occurrences", methods=["GET"])
@blp.arguments(OccurrenceListArgs, location="query")
@blp.response(200, page_out(OccurrenceOut))
@problems(blp, *READ_PROBLEMS)
def list_occurrences(args: dict[str, Any], shop_id, subscription_id):  # type: ignore[no-untyped-def]
    """One occurrence per order cycle closing within [begins_at, ends_at], in close-time order."""
    items, nxt, version = handlers.list_occurrences(
        request_conn(), caller(), str(shop_id), str(subscription_id), limit=args["limit"],
        cursor=decode_cursor(args["cursor"], ("time", "text")), states=args["state"], closes_after=args["closes_after"])
    return with_version(page(items, nxt), version=version)


@blp.route(f"{ONE}/occurrences/<uuid:cycle_id>", methods=["GET"])
@blp.response(200, OccurrenceOut)
@problems(blp, *READ_PROBLEMS)
def get_occurrence(shop_id, subscription_id, cycle_id):  # type: ignore[no-untyped-def]
    data, version = handlers.get_occurrence(request_conn(), caller(), str(shop_id), str(subscription_id),
                                            str(cycle_id))
    return with_version(data, version=version)


@blp.route(f"{ONE}/occurrences/<uuid:cycle_id>/skip", methods=["POST"])
@blp.doc(parameters=WRITE)
@blp.response(200, OccurrenceOut)
@problems(blp, *WRITE_PROBLEMS)
def skip(shop_id, subscription_id, cycle_id):  # type: ignore[no-untyped-def]
    """Skip one occurrence until its cycle closes (cancels its order if placed). ETag: the subscription's."""
    data, version = handlers.change_occurrence(request_conn(), caller(), str(shop_id), str(subscription_id),
                                               str(cycle_id), skip=True)
    return with_version(data, version=version)


@blp.route(f"{ONE}/occurrences/<uuid:cycle_id>/resume", methods=["POST"])
@blp.doc(parameters=WRITE)
@blp.response(200, OccurrenceOut)
@problems(blp, *WRITE_PROBLEMS)
def resume(shop_id, subscription_id, cycle_id):  # type: ignore[no-untyped-def]
    """Resume a skipped occurrence until its cycle closes."""
    data, version = handlers.change_occurrence(request_conn(), caller(), str(shop_id), str(subscription_id),
                                               str(cycle_id), skip=False)
    return with_version(data, version=version)
