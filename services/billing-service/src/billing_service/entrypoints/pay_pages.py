"""The customer's page for a payment that needs 3-D Secure: GET/POST /pay/<payment_id>/authorize?t=<token>.

The link (``PaymentAuthorizationRequired.authorization_url``, emailed by order-service) carries a signed token
naming the payment and the attempt; it works as long as that attempt waits for authorisation, also after the
order cycle closed. With the real API the page runs Stripe.js ``confirmCardPayment`` with the intent's client
secret (fetched server-side, never stored or logged) and then posts back so we record the outcome at once
(the webhook would too). Against localstripe (STRIPE_FLAVOUR=localstripe, refused in production) the bank's
page is simulated: two buttons call localstripe's private ``_authenticate`` route.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, render_template_string, request

from billing_service.adapters import repository as repo
from billing_service.adapters import views
from billing_service.adapters.stripe_gateway import StripeCallFailed, StripeGateway
from billing_service.config import ServiceSettings
from billing_service.domain import outcomes as oc
from billing_service.domain.links import InvalidLink
from billing_service.service_layer import handlers
from billing_service.service_layer.links import Links
from servicekit.web.app import now, request_conn
from servicekit.web.pages import STRIPE_JS, allow

# the page's CSS and JavaScript, under /pay like the page (the Ingress publishes /pay)
bp = Blueprint("pay", __name__, static_folder="static", static_url_path="/pay/static")

ZERO_DECIMAL = {"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV", "XAF",
                "XOF", "XPF"}

_LAYOUT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title>
<link rel="stylesheet" href="{{ url_for('pay.static', filename='pay.css') }}">
{% block head %}{% endblock %}</head><body><h1>{{ title }}</h1>{% block body %}{% endblock %}</body></html>"""

_MESSAGE = _LAYOUT.replace("{% block body %}{% endblock %}", "<p>{{ message }}</p>").replace(
    "{% block head %}{% endblock %}", "")

_SIMULATED = _LAYOUT.replace("{% block head %}{% endblock %}", "").replace("{% block body %}{% endblock %}", """
<p>Your payment to <strong>{{ shop }}</strong> for order {{ order_number }} needs your confirmation.</p>
<p class="amount">{{ amount }}</p>
<p class="muted">Test mode: this page stands in for your bank's 3-D Secure check.</p>
<form method="post" action="{{ action }}">
  <button type="submit" name="decision" value="authorize">Authorise the payment</button>
  <button type="submit" name="decision" value="decline">Refuse</button>
</form>""")

# Stripe.js from Stripe (as Stripe requires), our script from static/pay.js: the page has no inline script, and its
# Content-Security-Policy (servicekit.web.pages) allows Stripe's origins on this page only.
_STRIPE_JS = _LAYOUT.replace("{% block head %}{% endblock %}", """<script src="https://js.stripe.com/v3/"></script>
<script src="{{ url_for('pay.static', filename='pay.js') }}" defer></script>""").replace(
    "{% block body %}{% endblock %}", """
<p>Your payment to <strong>{{ shop }}</strong> for order {{ order_number }} needs your confirmation.</p>
<p class="amount">{{ amount }}</p>
<button id="confirm" type="button" data-publishable-key="{{ publishable_key }}" data-account="{{ account or '' }}"
        data-client-secret="{{ client_secret }}" data-payment-method="{{ payment_method or '' }}">
  Confirm with my bank</button>
<p id="status" class="muted" role="status"></p>
<form id="done" method="post" action="{{ action }}"><input type="hidden" name="decision" value="complete"></form>""")


def format_amount(amount: int, currency: str) -> str:
    if currency.upper() in ZERO_DECIMAL:
        return f"{amount} {currency.upper()}"
    return f"{amount // 100}.{amount % 100:02d} {currency.upper()}"


def _page(template: str, *, status: int = 200, **context: Any) -> Response:
    resp = Response(render_template_string(template, **context), status=int(status), mimetype="text/html")
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["Referrer-Policy"] = "no-referrer"  # the link's token never leaves in a Referer
    return resp


def _message(title: str, message: str, status: int = 200) -> Response:
    return _page(_MESSAGE, status=status, title=title, message=message)


def _context(payment_id: str) -> tuple[dict[str, Any] | Response, Any]:
    """The payment, its waiting attempt and the intent, or the page to show instead."""
    links: Links = current_app.extensions["links"]
    try:
        claim = links.verify(request.args.get("t", ""), payment_id, now())
    except InvalidLink as exc:
        return _message("This link cannot be used", f"{exc} Please contact the shop.", 403), None
    conn = request_conn()
    payment = repo.load_payment(conn, payment_id)
    if payment is None:
        return _message("Payment not found", "We could not find this payment.", 404), None
    shop = views.shop_for_page(conn, payment.shop_id)
    attempt = payment.attempt(claim.attempt)
    if payment.status in ("succeeded", "paid", "refunded"):
        return _message("Nothing to do", f"This payment to {shop.get('name') or 'the shop'} is already paid."), None
    if attempt is None or attempt.status != "requires_action" or payment.status != "requires_action":
        return _message("Nothing to do", "This payment no longer waits for your confirmation. "
                                         "If you have a question, please contact the shop."), None
    return {"payment": payment, "attempt": attempt, "shop": shop}, claim


@bp.get("/pay/<payment_id>/authorize")
def authorize_page(payment_id: str) -> Response:
    ctx, _claim = _context(payment_id)
    if isinstance(ctx, Response):
        return ctx
    settings: ServiceSettings = current_app.extensions["billing_settings"]
    gateway: StripeGateway = current_app.extensions["stripe"]
    payment, attempt, shop = ctx["payment"], ctx["attempt"], ctx["shop"]
    common: dict[str, Any] = {"title": "Confirm your payment", "shop": shop.get("name") or "the shop",
              "order_number": payment.order_number or "", "amount": format_amount(attempt.amount, payment.currency),
              "action": request.full_path}
    if settings.stripe.flavour == "localstripe":
        return _page(_SIMULATED, **common)
    try:
        intent = gateway.retrieve_payment_intent(attempt.stripe_payment_intent_id, shop.get("stripe_account_id"))
    except StripeCallFailed:
        return _message("Please try again", "The card payment service did not answer. Please try again later.", 503)
    allow(STRIPE_JS)
    return _page(_STRIPE_JS, **common, publishable_key=settings.stripe.publishable_key,
                 account=shop.get("stripe_account_id"), client_secret=intent.get("client_secret"),
                 payment_method=intent.get("payment_method") or (intent.get("last_payment_error") or {}).get(
                     "payment_method", {}).get("id"))


@bp.post("/pay/<payment_id>/authorize")
def authorize(payment_id: str) -> Response:
    ctx, _claim = _context(payment_id)
    if isinstance(ctx, Response):
        return ctx
    settings: ServiceSettings = current_app.extensions["billing_settings"]
    gateway: StripeGateway = current_app.extensions["stripe"]
    payment, attempt, shop = ctx["payment"], ctx["attempt"], ctx["shop"]
    account = shop.get("stripe_account_id")
    decision = request.form.get("decision", "")
    try:
        intent = gateway.retrieve_payment_intent(attempt.stripe_payment_intent_id, account)
        if settings.stripe.flavour == "localstripe" and decision in ("authorize", "decline"):
            intent = gateway.simulate_authentication(intent["id"], intent["client_secret"], decision == "authorize")
    except StripeCallFailed:
        return _message("Please try again", "The card payment service did not answer. Please try again later.", 503)
    outcome = oc.classify_intent(intent)
    handlers.record_outcome(request_conn(), payment.payment_id, attempt.attempt, outcome, now=now(),
                            links=current_app.extensions["links"])
    amount = format_amount(attempt.amount, payment.currency)
    name = shop.get("name") or "the shop"
    if outcome.kind == oc.SUCCEEDED:
        return _message("Thank you", f"Your payment of {amount} to {name} is confirmed.")
    if outcome.kind == oc.FAILED:
        return _message("Payment not confirmed", f"The payment of {amount} to {name} was not confirmed: "
                                                 f"{outcome.message} {name} has been told.")
    return _message("Not confirmed yet", "Your bank has not confirmed the payment yet. You can use the link again.")
