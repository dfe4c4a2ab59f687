"""Request and response schemas of the reports of an order cycle (they are also their OpenAPI document)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from order_service.entrypoints.api_schemas import Customer, Totals, _Request

MINOR_UNITS = {"description": "minor units of the shop's currency"}


class PageArgs(_Request):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String(validate=validate.Length(max=500), metadata={"description": "next_cursor of the "
                                                                                       "previous page"})


class FileArgs(_Request):
    lang = fields.String(validate=validate.OneOf(["en", "fr"]), metadata={
        "description": "language of the header row and of the words in the file (states, delivery or pickup); "
                       "the shop's language when absent"})


class ReportCycle(Schema):
    order_cycle_id = fields.String()
    name = fields.String(allow_none=True)
    opens_at = fields.DateTime(allow_none=True)
    opens_at_local = fields.DateTime(allow_none=True, metadata={"description": "in the shop's time zone"})
    closes_at = fields.DateTime(allow_none=True)
    closes_at_local = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True, metadata={"description": "when the scheduler closed it"})
    timezone = fields.String()
    currency = fields.String()


class ShippingMethod(Schema):
    id = fields.String()
    name = fields.String(allow_none=True)
    pickup = fields.Boolean(metadata={"description": "collected by the customer (else delivered to ship_address)"})


class BoxLine(Schema):
    variant_id = fields.String()
    product_name = fields.String()
    variant_name = fields.String(allow_none=True)
    supplier = fields.String(allow_none=True, metadata={"description": "the producer, as the catalog says; null: "
                                                                       "not said"})
    quantity = fields.Integer(metadata={"description": "allocated quantity (what goes in the box)"})


class Box(Schema):
    order_id = fields.String()
    number = fields.String()
    status = fields.String(metadata={"description": "placed or confirmed"})
    customer_id = fields.String()
    customer = fields.Nested(Customer)
    shipping_method = fields.Nested(ShippingMethod)
    ship_address = fields.Dict()
    lines = fields.List(fields.Nested(BoxLine))


class PackingList(Schema):
    order_cycle = fields.Nested(ReportCycle)
    items = fields.List(fields.Nested(Box), metadata={
        "description": "one box per order that will be delivered (placed or confirmed, something allocated), by "
                       "shipping method, then customer's last and first name, then order number"})
    next_cursor = fields.String(allow_none=True)


class ProductTotal(Schema):
    variant_id = fields.String()
    product_name = fields.String()
    variant_name = fields.String(allow_none=True)
    supplier = fields.String(allow_none=True)
    quantity = fields.Integer(metadata={"description": "allocated quantity over the cycle's placed and confirmed "
                                                       "orders"})
    orders = fields.Integer(metadata={"description": "orders with this product"})
    amount = fields.Integer(metadata=MINOR_UNITS)
    tax = fields.Integer(metadata={"description": "the tax of these lines (each line's own, summed), minor units; "
                                                "in the amount or on top of it as each order's prices_include_tax "
                                                "says"})


class SupplierTotal(Schema):
    supplier = fields.String(allow_none=True, metadata={"description": "null: the products whose supplier the "
                                                                       "catalog does not say"})
    quantity = fields.Integer()
    amount = fields.Integer(metadata=MINOR_UNITS)
    tax = fields.Integer(metadata={"description": "the tax of these lines (each line's own, summed), minor units; "
                                                "in the amount or on top of it as each order's prices_include_tax "
                                                "says"})
    products = fields.List(fields.Nested(ProductTotal))


class GrandTotal(Schema):
    products = fields.Integer()
    quantity = fields.Integer()
    amount = fields.Integer(metadata=MINOR_UNITS)
    tax = fields.Integer(metadata={"description": "the tax of these lines (each line's own, summed), minor units; "
                                                "in the amount or on top of it as each order's prices_include_tax "
                                                "says"})


class ProductTotals(Schema):
    order_cycle = fields.Nested(ReportCycle)
    suppliers = fields.List(fields.Nested(SupplierTotal), metadata={
        "description": "by supplier name, products without a supplier last"})
    totals = fields.Nested(GrandTotal)


class ReportPayment(Schema):
    state = fields.String(metadata={"description": "as an order's payment.state"})
    amount = fields.Integer(allow_none=True, metadata={"description": "what billing asked or charged"})
    paid = fields.Integer(metadata={"description": "what was paid (0 until paid)"})
    refunded = fields.Integer()
    code = fields.String(allow_none=True, metadata={"description": "why it failed (billing's code)"})
    updated_at = fields.DateTime(allow_none=True)


class ReportOrder(Schema):
    order_id = fields.String()
    number = fields.String()
    status = fields.String()
    cancel_cause = fields.String(allow_none=True)
    customer_id = fields.String()
    customer = fields.Nested(Customer)
    shipping_method = fields.String(allow_none=True)
    payment_method = fields.String(allow_none=True)
    payment_kind = fields.String()
    totals = fields.Nested(Totals)
    placed_at = fields.DateTime()
    placed_at_local = fields.DateTime()
    confirmed_at = fields.DateTime(allow_none=True)
    confirmed_at_local = fields.DateTime(allow_none=True)
    payment = fields.Nested(ReportPayment)


class OrdersTotals(Schema):
    orders = fields.Integer()
    placed = fields.Integer()
    confirmed = fields.Integer()
    cancelled = fields.Integer()
    empty = fields.Integer()
    item_total = fields.Integer(metadata={"description": "of the placed and confirmed orders, minor units"})
    shipping_fee = fields.Integer()
    payment_fee = fields.Integer()
    total = fields.Integer()
    tax_total = fields.Integer(metadata={"description": "the tax of the placed and confirmed orders (in their totals, "
                                                        "or added to them)"})
    paid = fields.Integer(metadata={"description": "charged or marked paid"})
    refunded = fields.Integer()
    unpaid = fields.Integer(metadata={"description": "total of the confirmed orders that need a payment not made "
                                                     "(yet)"})
    failed = fields.Integer(metadata={"description": "orders whose payment failed"})


class OrdersReport(Schema):
    order_cycle = fields.Nested(ReportCycle)
    totals = fields.Nested(OrdersTotals)
    items = fields.List(fields.Nested(ReportOrder), metadata={"description": "every order of the cycle, by number"})
    next_cursor = fields.String(allow_none=True)
