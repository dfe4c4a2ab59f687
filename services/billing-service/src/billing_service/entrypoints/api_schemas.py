"""Request and response schemas of the billing API (they also make its OpenAPI document)."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import RAISE, fields, validate

from billing_service.domain.payments import STATUSES


class Strict(ma.Schema):
    class Meta:
        unknown = RAISE


class ListPaymentsArgs(Strict):
    status = fields.List(fields.String(validate=validate.OneOf(STATUSES)),
                         metadata={"description": "repeat for several: payments in any of them"})
    cycle = fields.String(validate=validate.Length(min=1, max=100),
                          metadata={"description": "order cycle id"})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String(validate=validate.Length(max=500))


class PageArgs(Strict):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String(validate=validate.Length(max=500))


class MarkPaidSchema(Strict):
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500),
                         metadata={"description": "how it was paid, e.g. 'cash at pickup'"})


class RetrySchema(Strict):
    pass


class RefundRequestSchema(Strict):
    amount = fields.Integer(strict=True, load_default=None, allow_none=True, validate=validate.Range(min=1),
                            metadata={"description": "minor units; absent = everything still refundable"})


class FailureSchema(ma.Schema):
    code = fields.String(metadata={"description": "card_declined, no_permission, no_card, authentication_failed, "
                                                  "stripe_unavailable, stripe_error..."})
    decline_code = fields.String(allow_none=True)
    message = fields.String(metadata={"description": "plain words for the customer"})
    retryable = fields.Boolean()
    final = fields.Boolean(metadata={"description": "no automatic retry will follow"})


class CardSchema(ma.Schema):
    brand = fields.String(allow_none=True, metadata={"description": "Stripe's card brand: visa, mastercard..."})
    last4 = fields.String()


class PaymentSchema(ma.Schema):
    payment_id = fields.String()
    order_id = fields.String()
    order_number = fields.String(allow_none=True)
    order_cycle_id = fields.String(allow_none=True)
    shop_id = fields.String()
    customer_id = fields.String()
    customer_email = fields.String(allow_none=True, metadata={"description": "the customer's address, as "
                                                                            "customers.events last told it (who "
                                                                            "to contact about the payment)"})
    method = fields.String(metadata={"description": "cash | stripe"})
    amount = fields.Integer(metadata={"description": "minor units"})
    currency = fields.String()
    status = fields.String(metadata={"description": " | ".join(STATUSES)})
    attempts = fields.Integer()
    collected_amount = fields.Integer()
    amount_refunded = fields.Integer()
    failure = fields.Nested(FailureSchema, allow_none=True)
    next_attempt_at = fields.String(allow_none=True, metadata={"description": "UTC"})
    next_attempt_at_local = fields.String(allow_none=True, metadata={"description": "in the shop's time zone"})
    stripe_payment_intent_id = fields.String(allow_none=True)
    stripe_charge_id = fields.String(allow_none=True)
    authorization_url = fields.String(allow_none=True, metadata={"description": "while status is requires_action"})
    paid_note = fields.String(allow_none=True)
    paid_at = fields.String(allow_none=True, metadata={"description": "UTC: when it was paid (succeeded or marked "
                                                                      "paid)"})
    paid_at_local = fields.String(allow_none=True, metadata={"description": "in the shop's time zone"})
    card = fields.Nested(CardSchema, allow_none=True, metadata={"description": "the card charged (receipts)"})
    created_at = fields.String(metadata={"description": "UTC"})
    created_at_local = fields.String(metadata={"description": "in the shop's time zone"})
    updated_at = fields.String()
    version = fields.Integer(metadata={"description": "also the ETag"})


class PaymentPageSchema(ma.Schema):
    items = fields.List(fields.Nested(PaymentSchema))
    next_cursor = fields.String(allow_none=True)


class AttemptSchema(ma.Schema):
    attempt = fields.Integer()
    idempotency_key = fields.String()
    amount = fields.Integer()
    status = fields.String(metadata={"description": "started | requires_action | succeeded | failed | canceled"})
    started_by = fields.String()
    stripe_payment_intent_id = fields.String(allow_none=True)
    stripe_charge_id = fields.String(allow_none=True)
    code = fields.String(allow_none=True)
    decline_code = fields.String(allow_none=True)
    message = fields.String(allow_none=True)
    started_at = fields.String()
    finished_at = fields.String(allow_none=True)


class AttemptPageSchema(ma.Schema):
    items = fields.List(fields.Nested(AttemptSchema))
    next_cursor = fields.String(allow_none=True)


class RefundSchema(ma.Schema):
    refund_id = fields.String()
    payment_id = fields.String()
    amount = fields.Integer()
    total_refunded = fields.Integer()
    currency = fields.String()
    stripe_refund_id = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    created_at = fields.String()


class RefundPageSchema(ma.Schema):
    items = fields.List(fields.Nested(RefundSchema))
    next_cursor = fields.String(allow_none=True)


class WebhookAckSchema(ma.Schema):
    received = fields.Boolean()
    result = fields.String(metadata={"description": "applied | no_change | duplicate | ignored | unknown_payment"})


class AuthorizeSchema(Strict):
    pass


class AuthorizationSchema(ma.Schema):
    """What Stripe.js needs to authorise the waiting attempt in the customer's browser (``confirmCardPayment``)."""

    payment_id = fields.String()
    attempt = fields.Integer()
    amount = fields.Integer(metadata={"description": "minor units"})
    currency = fields.String()
    order_number = fields.String(allow_none=True)
    client_secret = fields.String(metadata={"description": "the PaymentIntent's, read from Stripe now; never stored"})
    payment_method = fields.String(allow_none=True, metadata={"description": "the card the payment is for"})
    stripe_account = fields.String(allow_none=True, metadata={"description": "the shop's connected account, if any"})
    publishable_key = fields.String(metadata={"description": "the platform's Stripe publishable key"})
