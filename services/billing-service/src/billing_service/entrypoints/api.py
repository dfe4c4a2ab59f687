"""REST routes under /api/v1: payments of a shop, of an order and of a customer, a payment's attempts and refunds,
the manager's commands (retry now, mark paid, refund) and the customer's authorisation of a payment that needs
3-D Secure. Managers see their shops; a customer sees only their own payments (another customer's is 404) and may
not command (403); another shop's payment is 404."""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify, request, url_for

from billing_service.adapters import views
from billing_service.entrypoints import api_schemas as s
from billing_service.service_layer import handlers
from servicekit.web.app import now, principal, request_conn
from servicekit.web.blueprint import Blueprint
from servicekit.web.http import check_version, decode_cursor, idempotent, page, with_etag
from servicekit.web.problems import Forbidden, NotFound, Unprocessable

blp = Blueprint("payments", __name__, url_prefix="/api/v1", description="Payments of confirmed orders")

REASON_HEADER = "X-Change-Reason"


def _visible(shop_id: str) -> str | None:
    """404 unless the caller may see the shop; returns the customer the caller is restricted to (or None)."""
    who = principal()
    if not who.can_see_shop(shop_id):
        raise NotFound("No such shop.")
    return who.customer_id if who.is_customer else None


def _manager(shop_id: str) -> dict[str, str]:
    who = principal()
    if not who.can_see_shop(shop_id):
        raise NotFound("No such shop.")
    if not who.manages(shop_id):
        raise Forbidden("Only the shop's managers can do this.")
    return who.actor()


def _reason() -> str | None:
    reason = request.headers.get(REASON_HEADER)
    if reason is not None and len(reason) > 500:
        raise Unprocessable(errors={REASON_HEADER: ["At most 500 characters."]})
    return reason or None


def _payment_response(shop_id: str, payment_id: str, status: int = 200) -> Any:
    doc = views.payment(request_conn(), shop_id, payment_id)
    if doc is None:
        raise NotFound("No such payment.")
    resp = jsonify(doc)
    resp.status_code = status
    return with_etag(resp, doc["version"])


@blp.route("/shops/<shop_id>/payments", methods=["GET"])
@blp.arguments(s.ListPaymentsArgs, location="query")
@blp.response(200, s.PaymentPageSchema)
@blp.alt_response(404, response="NOT_FOUND")
def list_payments(args: dict[str, Any], shop_id: str) -> Any:
    """Payments of a shop, oldest first; filters: status (repeat for several), cycle (order cycle id)."""
    customer = _visible(shop_id)
    after = decode_cursor(args.get("cursor"), ("time", "text"))
    items = views.payments(request_conn(), shop_id, customer_id=customer, statuses=args.get("status"),
                           cycle=args.get("cycle"), after=after, limit=args["limit"])
    if not items and not views.shop_exists(request_conn(), shop_id):
        raise NotFound("No such shop.")
    return page(items, args["limit"], lambda p: [p["created_at"], p["payment_id"]])


@blp.route("/shops/<shop_id>/orders/<order_id>/payments", methods=["GET"])
@blp.response(200, s.PaymentPageSchema)
@blp.alt_response(404, response="NOT_FOUND")
def order_payments(shop_id: str, order_id: str) -> Any:
    """The payment of an order (one per order; an empty list until the order is confirmed and billed; 404 for an
    order this service has not heard of in this shop, or another customer's)."""
    customer = _visible(shop_id)
    items = views.payments(request_conn(), shop_id, customer_id=customer, order_id=order_id, limit=200)
    if not items and not views.order_exists(request_conn(), shop_id, order_id, customer):
        raise NotFound("No such order.")
    return page(items, 200, lambda p: [p["created_at"], p["payment_id"]])


@blp.route("/shops/<shop_id>/payments/<payment_id>", methods=["GET"])
@blp.response(200, s.PaymentSchema)
def get_payment(shop_id: str, payment_id: str) -> Any:
    """One payment; the ETag is its version (send it back as If-Match with a command)."""
    customer = _visible(shop_id)
    doc = views.payment(request_conn(), shop_id, payment_id, customer)
    if doc is None:
        raise NotFound("No such payment.")
    return with_etag(jsonify(doc), doc["version"])


def _payment_of_caller(shop_id: str, payment_id: str) -> dict[str, Any]:
    customer = _visible(shop_id)
    doc = views.payment(request_conn(), shop_id, payment_id, customer)
    if doc is None:
        raise NotFound("No such payment.")
    return doc


@blp.route("/shops/<shop_id>/payments/<payment_id>/attempts", methods=["GET"])
@blp.arguments(s.PageArgs, location="query")
@blp.response(200, s.AttemptPageSchema)
def list_attempts(args: dict[str, Any], shop_id: str, payment_id: str) -> Any:
    """Every attempt to charge, with its idempotency key and Stripe references (PaymentIntent, Charge)."""
    _payment_of_caller(shop_id, payment_id)
    after = decode_cursor(args.get("cursor"), ("int",))
    items = views.attempts(request_conn(), payment_id, after[0] if after else 0, args["limit"])
    return page(items, args["limit"], lambda a: [a["attempt"]])


@blp.route("/shops/<shop_id>/payments/<payment_id>/refunds", methods=["GET"])
@blp.arguments(s.PageArgs, location="query")
@blp.response(200, s.RefundPageSchema)
def list_refunds(args: dict[str, Any], shop_id: str, payment_id: str) -> Any:
    _payment_of_caller(shop_id, payment_id)
    after = decode_cursor(args.get("cursor"), ("int",))
    items = views.refunds(request_conn(), payment_id, after[0] if after else 0, args["limit"])
    return page(items, args["limit"], lambda r: [r["total_refunded"]])


@blp.route("/shops/<shop_id>/payments/<payment_id>/retry", methods=["POST"])
@idempotent
@blp.arguments(s.RetrySchema, required=False)
@blp.response(202, s.PaymentSchema)
def retry(_args: dict[str, Any], shop_id: str, payment_id: str) -> Any:
    """Retry now: a new attempt with a new idempotency key, charged within moments (failed payments only). Send
    If-Match and an Idempotency-Key: a repeated request (a double click, a resent form) gets the first answer and
    never starts a second attempt."""
    cmd = handlers.PaymentCommand(shop_id, payment_id, _manager(shop_id), _reason())
    handlers.retry_payment(request_conn(), cmd, now=now(), check_version=check_version)
    return _payment_response(shop_id, payment_id, 202)


@blp.route("/shops/<shop_id>/payments/<payment_id>/mark-paid", methods=["POST"])
@idempotent
@blp.arguments(s.MarkPaidSchema, required=False)
@blp.response(200, s.PaymentSchema)
def mark_paid(args: dict[str, Any], shop_id: str, payment_id: str) -> Any:
    """Paid by other means (cash collected, bank transfer). A card payment waiting for 3-D Secure is cancelled.
    Send an Idempotency-Key: a repeated request gets the first answer (not a 409 "already paid")."""
    cmd = handlers.PaymentCommand(shop_id, payment_id, _manager(shop_id), _reason())
    handlers.mark_paid(request_conn(), cmd, (args or {}).get("note"), gateway=current_app.extensions["stripe"],
                       now=now(), check_version=check_version)
    return _payment_response(shop_id, payment_id)


@blp.route("/shops/<shop_id>/payments/<payment_id>/refunds", methods=["POST"])
@idempotent
@blp.arguments(s.RefundRequestSchema, required=False)
@blp.response(201, s.RefundSchema)
def create_refund(args: dict[str, Any], shop_id: str, payment_id: str) -> Any:
    """A full (no amount) or partial refund; never more than was collected (422 otherwise, 409 if nothing was
    collected). Send an Idempotency-Key: a retried request never refunds twice."""
    cmd = handlers.PaymentCommand(shop_id, payment_id, _manager(shop_id), _reason())
    pool = current_app.extensions["pool"]
    with pool.connection() as side:
        made = handlers.refund(request_conn(), side, cmd, (args or {}).get("amount"),
                               gateway=current_app.extensions["stripe"], now=now(), check_version=check_version)
    doc = views.refund(request_conn(), made.refund_id)
    resp = jsonify(doc)
    resp.status_code = 201
    resp.headers["Location"] = url_for("payments.list_refunds", shop_id=shop_id, payment_id=payment_id)
    return with_etag(resp, made.version)


@blp.route("/shops/<shop_id>/customers/<customer_id>/payments", methods=["GET"])
@blp.arguments(s.PageArgs, location="query")
@blp.response(200, s.PaymentPageSchema)
@blp.alt_response(404, response="NOT_FOUND")
def customer_payments(args: dict[str, Any], shop_id: str, customer_id: str) -> Any:
    """A customer's payments, newest first, with what their receipts show (paid_at, card). The customer sees only
    their own (another customer's list is 404, as for a customer this service has not heard of)."""
    customer = _visible(shop_id)
    if customer is not None and customer != customer_id:
        raise NotFound("No such customer.")
    after = decode_cursor(args.get("cursor"), ("time", "text"))
    items = views.customer_payments(request_conn(), shop_id, customer_id, after=after, limit=args["limit"])
    if not items and not views.customer_exists(request_conn(), shop_id, customer_id):
        raise NotFound("No such customer.")
    return page(items, args["limit"], lambda p: [p["created_at"], p["payment_id"]])


IN_PERSON = ("Only the customer authorises their payment, signed in through the one-time link emailed to their own "
             "address (POST /api/v1/sign-in-links, then POST /api/v1/sessions).")


def _in_person(shop_id: str) -> str:
    """The customer themself, in a session opened with the link emailed to them; managers get 403, so does a
    customer token a manager issued. Returns the customer's id (their payments only: another's is 404)."""
    who = principal()
    if not who.can_see_shop(shop_id):
        raise NotFound("No such shop.")
    if not who.is_customer or who.customer_id is None:
        raise Forbidden(f"{IN_PERSON} Managers and admins cannot do this for a customer.")
    if not who.proven_by_email:
        raise Forbidden(f"{IN_PERSON} This token was issued by the shop, not opened by the customer.")
    return who.customer_id


@blp.route("/shops/<shop_id>/payments/<payment_id>/authorization", methods=["GET"])
@blp.response(200, s.AuthorizationSchema)
def get_authorization(shop_id: str, payment_id: str) -> Any:
    """What the customer's browser needs to authorise a payment that waits for 3-D Secure (Stripe.js
    ``confirmCardPayment`` with the PaymentIntent's client secret, read from Stripe now). The customer in person
    only (403 otherwise); 409 when the payment waits for no authorisation; 404 for another customer's."""
    customer = _in_person(shop_id)
    made = handlers.authorization(request_conn(), shop_id, payment_id, customer,
                                  gateway=current_app.extensions["stripe"])
    settings = current_app.extensions["billing_settings"]
    return {**made.__dict__, "publishable_key": settings.stripe.publishable_key}


@blp.route("/shops/<shop_id>/payments/<payment_id>/authorization", methods=["POST"])
@blp.arguments(s.AuthorizeSchema, required=False)
@blp.response(200, s.PaymentSchema)
def record_authorization(_args: dict[str, Any], shop_id: str, payment_id: str) -> Any:
    """The customer's browser went through 3-D Secure: billing reads the PaymentIntent back from Stripe and records
    what it says (paid, failed, or still waiting) at once, then answers the payment. Safe to repeat; a payment
    that waits for nothing is answered as it is. The customer in person only (403 otherwise)."""
    customer = _in_person(shop_id)
    handlers.record_authorization(request_conn(), shop_id, payment_id, customer,
                                  gateway=current_app.extensions["stripe"], now=now(),
                                  links=current_app.extensions["links"])
    return _payment_response(shop_id, payment_id)
