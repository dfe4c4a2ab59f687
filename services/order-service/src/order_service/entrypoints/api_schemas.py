"""Request and response schemas of the REST API (they are also its OpenAPI document)."""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, fields, validate

from shared_events.contracts.common import Address

STATUSES = ["placed", "empty", "cancelled", "confirmed"]


class _Request(Schema):
    class Meta:
        unknown = RAISE


class CustomerOrdersArgs(_Request):
    order_cycle_id = fields.String(validate=validate.Length(min=1, max=100))
    subscription_id = fields.String(validate=validate.Length(min=1, max=100))
    status = fields.List(fields.String(validate=validate.OneOf(STATUSES)),
                         metadata={"description": "repeat for several: orders in any of them"})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String(validate=validate.Length(max=500), metadata={"description": "next_cursor of the "
                                                                                       "previous page"})


class ListOrdersArgs(CustomerOrdersArgs):
    customer_id = fields.String(validate=validate.Length(min=1, max=100))


class LineQuantity(_Request):
    quantity = fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=1_000_000))


class NewLine(_Request):
    variant_id = fields.String(required=True, validate=validate.Length(min=1, max=100))
    quantity = fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=1_000_000))


class StrictAddress(Address):
    class Meta:
        unknown = RAISE


class OrderDetails(_Request):
    shipping_method_id = fields.String(validate=validate.Length(min=1, max=100))
    payment_method_id = fields.String(validate=validate.Length(min=1, max=100))
    bill_address = fields.Nested(StrictAddress)
    ship_address = fields.Nested(StrictAddress)


# -- responses -----------------------------------------------------------------------------------------------------


TAX_RULE = ("each line's tax is computed on its total at the rate copied at placement, and each fee's at its "
            "method's category rate, rounded half-even (shared_events.money)")


class Totals(Schema):
    item_total = fields.Integer(metadata={"description": "minor units of the order's currency"})
    shipping_fee = fields.Integer()
    payment_fee = fields.Integer()
    total = fields.Integer(metadata={"description": "what the customer pays: items + fees, + tax_total where the "
                                                    "order's prices exclude tax"})
    tax_total = fields.Integer(metadata={"description": "all the order's tax (lines + fees); included in total "
                                                        "where prices include tax, added to it where they exclude "
                                                        "it; " + TAX_RULE})
    shipping_tax = fields.Integer(metadata={"description": "the shipping fee's tax (part of tax_total)"})
    payment_tax = fields.Integer(metadata={"description": "the payment fee's tax (part of tax_total)"})


class TaxRate(Schema):
    category = fields.String()
    rate_bp = fields.Integer(metadata={"description": "basis points: 5.5 % = 550"})


class Customer(Schema):
    email = fields.String(allow_none=True)
    first_name = fields.String(allow_none=True)
    last_name = fields.String(allow_none=True)


class Payment(Schema):
    state = fields.String(metadata={"description": "not_due (cycle open), not_required, requested, pending, "
                                                   "processing, paid, failed, authorization_required, refunded, "
                                                   "partially_refunded"})
    required = fields.Boolean(allow_none=True)
    id = fields.String(allow_none=True)
    amount = fields.Integer(allow_none=True)
    attempt = fields.Integer(allow_none=True)
    code = fields.String(allow_none=True)
    decline_code = fields.String(allow_none=True)
    message = fields.String(allow_none=True, metadata={"description": "why it failed, in plain words"})
    final = fields.Boolean(allow_none=True)
    next_attempt_at = fields.DateTime(allow_none=True)
    authorization_url = fields.String(allow_none=True)
    amount_refunded = fields.Integer(allow_none=True)
    updated_at = fields.DateTime(allow_none=True)


class Editable(Schema):
    by_manager = fields.Boolean(metadata={"description": "a manager may change it now (placed, or cancelled: "
                                                         "resume), until the cycle closes"})
    by_customer = fields.Boolean(metadata={"description": "the customer may change it now: the shop allows "
                                                          "customers' changes and it is placed, or cancelled by "
                                                          "the customer (resume), until the cycle closes"})


class SubstituteFor(Schema):
    variant_id = fields.String()
    name = fields.String(metadata={"description": "its name when the order was placed"})


class Line(Schema):
    line_id = fields.String()
    variant_id = fields.String()
    name = fields.String()
    unit_price = fields.Integer()
    requested_quantity = fields.Integer(metadata={"description": "what was asked for"})
    quantity = fields.Integer(metadata={"description": "what is allocated (capped to stock)"})
    total = fields.Integer()
    capped = fields.Boolean()
    edited_by = fields.String(allow_none=True, metadata={"description": "manager, customer, subscription; "
                                                                        "null = as placed"})
    substitute_for = fields.Nested(SubstituteFor, allow_none=True, metadata={
        "description": "the subscription's product this line was placed instead of, because it could not be had "
                       "(deleted, unavailable or out of stock); null: the line is the product asked for"})
    tax = fields.Integer(metadata={"description": "the line's tax, minor units (included in or added to total, as "
                                                  "the order's prices_include_tax says)"})
    tax_category = fields.String(allow_none=True, metadata={"description": "null = not taxed"})
    tax_rate_bp = fields.Integer(metadata={"description": "the rate copied at placement, basis points"})


class UpdateIssue(Schema):
    issue_event_id = fields.String()
    subscription_event_id = fields.String()
    kind = fields.String()
    variant_id = fields.String(allow_none=True)
    message = fields.String()
    recorded_at = fields.DateTime()


class Receipt(Schema):
    paid_at = fields.DateTime()
    amount = fields.Integer(metadata={"description": "what was paid, in minor units"})
    invoice_number = fields.Integer(allow_none=True, metadata={
        "description": "the shop's invoice number (a shop with `invoices_enabled`); null: a receipt"})


class OrderSummary(Schema):
    order_id = fields.String()
    number = fields.String()
    shop_id = fields.String()
    subscription_id = fields.String()
    order_cycle_id = fields.String()
    order_cycle_name = fields.String(allow_none=True)
    customer_id = fields.String()
    customer = fields.Nested(Customer)
    status = fields.String(metadata={"description": "placed, empty, cancelled, confirmed"})
    cancel_cause = fields.String(allow_none=True)
    currency = fields.String()
    totals = fields.Nested(Totals)
    prices_include_tax = fields.Boolean(metadata={"description": "the shop's setting when the order was placed"})
    late = fields.Boolean()
    capped = fields.Boolean()
    allocation_policy = fields.String()
    payment_kind = fields.String()
    shipping_method_id = fields.String()
    payment_method_id = fields.String()
    opens_at = fields.DateTime()
    closes_at = fields.DateTime()
    closes_at_local = fields.DateTime()
    placed_at = fields.DateTime()
    placed_at_local = fields.DateTime()
    confirmed_at = fields.DateTime(allow_none=True)
    cancelled_at = fields.DateTime(allow_none=True)
    line_count = fields.Integer()
    update_issue_count = fields.Integer(metadata={"description": "subscription changes that could not be applied "
                                                                "to this order, and products withdrawn from it "
                                                                "because the catalog no longer sells them "
                                                                "(kind line_withdrawn): the order's update_issues"})
    editable = fields.Nested(Editable)
    payment = fields.Nested(Payment)
    receipt = fields.Nested(Receipt, allow_none=True, metadata={
        "description": "the paid order's receipt (its PDF: `.../receipt.pdf`); null until the order is paid"})
    version = fields.Integer()


class Order(OrderSummary):
    tax_rates = fields.List(fields.Nested(TaxRate), metadata={"description": "the shop's tax rates copied at "
                                                                            "placement (lines added later use them)"})
    bill_address = fields.Dict()
    ship_address = fields.Dict()
    lines = fields.List(fields.Nested(Line))
    update_issues = fields.List(fields.Nested(UpdateIssue))


class OrderPage(Schema):
    items = fields.List(fields.Nested(OrderSummary))
    next_cursor = fields.String(allow_none=True)


class VariantsArgs(_Request):
    q = fields.String(validate=validate.Length(min=1, max=100),
                      metadata={"description": "words to find in the product's, the variant's or the supplier's "
                                               "name (each of them, case aside)"})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String(validate=validate.Length(max=500), metadata={"description": "next_cursor of the "
                                                                                       "previous page"})


class _PricedVariant(Schema):
    """What anyone who may read a shop's products sees of a variant: its names and price."""

    variant_id = fields.String(required=True)
    product_name = fields.String(required=True)
    variant_name = fields.String(allow_none=True)
    unit_price = fields.Integer(required=True, metadata={"description": "the shop's price, in minor units"})
    currency = fields.String(required=True)


class Variant(_PricedVariant):
    on_hand = fields.Integer(allow_none=True, metadata={"description": "units left after the orders placed "
                                                                       "(null: unlimited)"})
    available = fields.Boolean(required=True)
    supplier = fields.String(allow_none=True, metadata={"description": "the producer the hub orders it from "
                                                                       "(null: the catalog does not say)"})
    tax_category = fields.String(allow_none=True, metadata={"description": "the catalog's tax category (null: "
                                                                           "not taxed)"})


class VariantPage(Schema):
    items = fields.List(fields.Nested(Variant))
    next_cursor = fields.String(allow_none=True)


class ProductsArgs(VariantsArgs):
    q = fields.String(validate=validate.Length(min=1, max=100),
                      metadata={"description": "words to find in the product's or the variant's name (each of "
                                               "them, case aside)"})


class ProductForSale(_PricedVariant):
    """A variant as a customer of the shop sees it: no stock count, no supplier."""

    in_stock = fields.Method("_in_stock", metadata={"description": "some left after the orders placed (an "
                                                                   "unlimited stock is always in stock)"})

    def _in_stock(self, v: dict[str, Any]) -> bool:
        return v.get("on_hand") is None or v["on_hand"] > 0


class ProductPage(Schema):
    items = fields.List(fields.Nested(ProductForSale))
    next_cursor = fields.String(allow_none=True)


class ProductToAdd(Schema):
    variant_id = fields.String()
    name = fields.String()
    unit_price = fields.Integer(metadata={"description": "minor units of the order's currency"})
    available = fields.Integer(allow_none=True, attribute="on_hand",
                               metadata={"description": "units that can still be had; null: unlimited"})


class ProductsToAdd(Schema):
    items = fields.List(fields.Nested(ProductToAdd))


class OrderCounts(Schema):
    placed = fields.Integer(metadata={"description": "placed, not yet confirmed (changeable while the cycle is open)"})
    confirmed = fields.Integer()
    cancelled = fields.Integer()
    empty = fields.Integer(metadata={"description": "nothing could be allocated: nothing to confirm or charge"})
    orders = fields.Integer(metadata={"description": "all of them"})
    with_update_issues = fields.Integer(metadata={"description": "orders a subscription change could not be "
                                                                 "applied to in full (see each order's "
                                                                 "update_issues)"})


class CycleOrderCounts(Schema):
    order_cycle_id = fields.String()
    name = fields.String(allow_none=True)
    opens_at = fields.DateTime(allow_none=True)
    closes_at = fields.DateTime(allow_none=True)
    closes_at_local = fields.DateTime(allow_none=True, metadata={"description": "in the shop's time zone"})
    open = fields.Boolean(metadata={"description": "orders may still change: the cycle has not closed"})
    counts = fields.Nested(OrderCounts)


class HistoryEntry(Schema):
    event_id = fields.String()
    event_type = fields.String()
    source = fields.String()
    version = fields.Integer()
    occurred_at = fields.DateTime()
    actor = fields.Dict(allow_none=True)
    reason = fields.String(allow_none=True)
    detail = fields.Dict()


class History(Schema):
    items = fields.List(fields.Nested(HistoryEntry))


class UpdateIssues(Schema):
    items = fields.List(fields.Nested(UpdateIssue))


class Run(Schema):
    run_id = fields.String()
    batch = fields.Boolean()
    started_at = fields.DateTime()
    summarised_at = fields.DateTime(allow_none=True)
    orders = fields.Integer()
    awaiting = fields.Integer()
    skipped = fields.Integer()
    errors = fields.Integer()


class MissedDue(Schema):
    subscription_id = fields.String()
    customer_id = fields.String()
    customer_email = fields.String(allow_none=True)
    due_at = fields.DateTime(metadata={"description": "when it became due (the cycle's open, or the change)"})
    due_reason = fields.String(metadata={"description": "why it was due: cycle_opened, subscription_created, ..."})
    reason = fields.String(metadata={"description": "why no order was placed: open_processed_after_close (the "
                                                    "scheduler processed the cycle's open only after it closed) or "
                                                    "change_processed_after_close"})
    missed_at = fields.DateTime(metadata={"description": "when the scheduler processed it"})


class PlacementSummary(Schema):
    order_cycle_id = fields.String()
    name = fields.String(allow_none=True)
    opens_at = fields.DateTime(allow_none=True)
    opened_at = fields.DateTime(allow_none=True)
    due_count = fields.Integer(allow_none=True)
    missed_count = fields.Integer(allow_none=True, metadata={
        "description": "dues the scheduler did not place at the open (OrderCycleOpened.missed_count)"})
    dues = fields.Dict(metadata={"description": "recorded, waiting (for the opening batch), set_aside (paused, "
                                                "cancelled, skipped), lacking_data (subscription not known yet), "
                                                "missed (not placed: processed after the cycle closed)"})
    orders = fields.Dict(metadata={"description": "orders, placed, empty, cancelled, late, capped"})
    issues = fields.List(fields.Dict())
    missed = fields.List(fields.Nested(MissedDue), metadata={
        "description": "subscriptions that were due but got no order because the scheduler processed the due only "
                       "after the order cycle had closed and the shop's late_placement is while_open (the first "
                       "500; the count is dues.missed)"})
    runs = fields.List(fields.Nested(Run))


class ConfirmationSummary(Schema):
    order_cycle_id = fields.String()
    name = fields.String(allow_none=True)
    closes_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    orders = fields.Dict(metadata={"description": "confirmed, not_confirmed_yet, cancelled, no_payment_needed, "
                                                  "payment_requested, paid, cash_pending, failed, "
                                                  "authorization_required, awaiting_outcome, refunded, "
                                                  "amount_requested"})
    issues = fields.List(fields.Dict())
    runs = fields.List(fields.Nested(Run))


class ReceiptArgs(_Request):
    lang = fields.String(validate=validate.OneOf(["en", "fr"]), metadata={
        "description": "the document's language; the customer's when absent, else the shop's"})
