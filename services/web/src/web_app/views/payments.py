"""A customer's payments at a shop: the list of their past payments, a receipt per paid one, and the page where
they authorise a payment their bank wants to confirm (3-D Secure), which the emailed link opens.

Authorising: billing-service answers the waiting PaymentIntent's client secret to the customer's own session
(``GET .../payments/<id>/authorization``); Stripe.js, loaded from the configured Stripe base (this page's
Content-Security-Policy allows that origin, for this page only), runs ``confirmCardPayment`` in the browser, the
bank's check included (``static/pay.js``); the form then posts here and billing reads the outcome back from Stripe
and records it (``POST .../authorization``). The card's details never reach this app.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from web_app import people
from web_app.api import Api, ApiError
from web_app.config import WebSettings
from web_app.forms import ConfirmForm
from web_app.i18n import use_reader
from web_app.views.customer import customer_of_shop
from web_app.views.payment import allow_stripe_js

bp = Blueprint("payments", __name__)

PAID = ("succeeded", "paid", "refunded")
PAGE = 50


def _reader(api: Api, shop_id: str, person: people.Person) -> tuple[dict[str, Any], dict[str, Any]]:
    """The shop and the customer, read first: the page speaks the customer's language, in the shop's time zone."""
    shop = api.get("subscriptions", f"/api/v1/shops/{shop_id}")
    customer = api.get("subscriptions", f"/api/v1/shops/{shop_id}/customers/{person.customer_id}")
    use_reader(customer=customer, shop=shop)
    return shop, customer


def _payment(api: Api, shop_id: str, payment_id: str) -> dict[str, Any]:
    return api.get("billing", f"/api/v1/shops/{shop_id}/payments/{payment_id}")  # type: ignore[no-any-return]


@bp.get("/shops/<uuid:shop_id>/payments")
@customer_of_shop
def payments(person: people.Person, shop_id: str):  # type: ignore[no-untyped-def]
    api = people.api(person)
    shop, customer = _reader(api, shop_id, person)
    cursor = request.args.get("cursor") or None
    try:
        found = api.get("billing", f"/api/v1/shops/{shop_id}/customers/{person.customer_id}/payments", limit=PAGE,
                        cursor=cursor)
    except ApiError as err:
        if err.status == 404 and cursor is None:  # billing has not heard of the customer yet: nothing paid yet
            found = {"items": [], "next_cursor": None}
        elif err.status == 400:  # a cursor from an old or altered address: the first page
            return redirect(url_for("payments.payments", shop_id=shop_id), 303)
        else:
            raise
    return render_template("payments.html", shop=shop, customer=customer, payments=found["items"],
                           next_cursor=found.get("next_cursor"), first=cursor is None)


@bp.get("/shops/<uuid:shop_id>/payments/<uuid:payment_id>")
@customer_of_shop
def receipt(person: people.Person, shop_id: str, payment_id: Any):  # type: ignore[no-untyped-def]
    api = people.api(person)
    shop, customer = _reader(api, shop_id, person)
    payment = _payment(api, shop_id, str(payment_id))
    if payment["status"] == "requires_action":
        return redirect(url_for("payments.authorize_page", shop_id=shop_id, payment_id=payment_id), 303)
    order = api.get("orders", f"/api/v1/shops/{shop_id}/orders/{payment['order_id']}")
    refunds = api.get("billing", f"/api/v1/shops/{shop_id}/payments/{payment_id}/refunds", limit=200)["items"] \
        if payment["amount_refunded"] else []
    return render_template("receipt.html", shop=shop, customer=customer, payment=payment, order=order,
                           refunds=refunds, paid=payment["status"] in PAID)


def _authorize_page(person: people.Person, shop_id: str, payment_id: str, status: int = 200) -> Any:
    api = people.api(person)
    shop, customer = _reader(api, shop_id, person)
    payment = _payment(api, shop_id, payment_id)
    authorization = None
    if payment["status"] == "requires_action":
        try:
            authorization = api.get("billing", f"/api/v1/shops/{shop_id}/payments/{payment_id}/authorization")
        except ApiError as err:
            if err.status != 409:  # 409: it stopped waiting meanwhile (paid by other means): the page says so
                raise
    settings: WebSettings = current_app.extensions["web_settings"]
    if authorization:
        allow_stripe_js(settings)
    return render_template("authorize.html", shop=shop, customer=customer, payment=payment,
                           authorization=authorization, form=ConfirmForm(), stripe_js_url=settings.stripe_js_url,
                           paid=payment["status"] in PAID), status


@bp.get("/shops/<uuid:shop_id>/payments/<uuid:payment_id>/authorize")
@customer_of_shop
def authorize_page(person: people.Person, shop_id: str, payment_id: Any):  # type: ignore[no-untyped-def]
    return _authorize_page(person, shop_id, str(payment_id))


@bp.post("/shops/<uuid:shop_id>/payments/<uuid:payment_id>/authorize")
@customer_of_shop
def authorize(person: people.Person, shop_id: str, payment_id: Any):  # type: ignore[no-untyped-def]
    """pay.js posts here once Stripe.js is done (the bank said yes or no): billing reads the outcome from Stripe."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    api = people.api(person)
    payment = api.post("billing", f"/api/v1/shops/{shop_id}/payments/{payment_id}/authorization")
    if payment["status"] in PAID:
        flash(_("Thank you: your payment is confirmed."))
        return redirect(url_for("payments.receipt", shop_id=shop_id, payment_id=payment_id), 303)
    if payment["status"] == "failed":
        flash(_("Your bank did not confirm the payment. The shop has been told."))
    else:
        flash(_("Your bank has not confirmed the payment yet. You can try again."))
    return redirect(url_for("payments.authorize_page", shop_id=shop_id, payment_id=payment_id), 303)
