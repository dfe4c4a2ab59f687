"""A customer's payment page at a shop: the card on file and the shop's permission to charge it.

Saving a card: "Add a card" posts here, which starts a card setup at subscription-service (a Stripe SetupIntent on
the platform's Stripe Customer) and shows the card form; Stripe.js, loaded from the configured Stripe base (this
page's Content-Security-Policy allows that origin, for this page only), takes the card's details and confirms the
SetupIntent in the browser, 3-D Secure included when the bank asks (``static/card.js``); the form then posts the
SetupIntent's id and the API records the card after reading it back from Stripe. The card's number never reaches
this app. The permission to charge is given or withdrawn under the text the API answers in the customer's
language, and the API records that text and its language with the customer's choice.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from servicekit.web.pages import STRIPE_JS
from web_app import people, security
from web_app.api import Api, ApiError
from web_app.config import WebSettings
from web_app.forms import CardForm, ConfirmForm, ConsentForm, WithdrawForm, show_problem
from web_app.i18n import select_locale, use_reader
from web_app.views.customer import customer_of_shop

bp = Blueprint("payment", __name__)


def _base(shop_id: str, person: people.Person) -> str:
    return f"/api/v1/shops/{shop_id}/customers/{person.customer_id}"


def _reader(api: Api, shop_id: str, person: people.Person) -> tuple[dict[str, Any], dict[str, Any]]:
    """The shop and the customer, read first: the page speaks the customer's language."""
    shop = api.get("subscriptions", f"/api/v1/shops/{shop_id}")
    customer = api.get("subscriptions", _base(shop_id, person))
    use_reader(customer=customer, shop=shop)
    return shop, customer


def allow_stripe_js(settings: WebSettings) -> None:
    """This response's policy admits Stripe.js: Stripe's own origins, or the origin of the configured stand-in
    (localstripe serves its Stripe.js and answers its calls from one origin)."""
    if urlsplit(settings.stripe_js_url).hostname == "js.stripe.com":
        security.allow(STRIPE_JS)
        return
    parts = urlsplit(settings.stripe_js_url)
    origin = f"{parts.scheme}://{parts.netloc}"
    security.allow({"script-src": [origin], "connect-src": [origin], "frame-src": [origin]})


def _payment_page(person: people.Person, shop_id: str, *, consent_form: ConsentForm | None = None,
                  status: int = 200) -> Any:
    api = people.api(person)
    shop, customer = _reader(api, shop_id, person)
    permission = api.get("subscriptions", f"{_base(shop_id, person)}/charges-permission", locale=select_locale())
    consent_form = consent_form or ConsentForm(locale=permission["locale"])
    withdraw_form = WithdrawForm(locale=permission["locale"])
    consent_form.locale.data = withdraw_form.locale.data = permission["locale"]  # the text shown now is the one
    return render_template("payment.html", shop=shop, customer=customer, permission=permission,
                           form=consent_form, withdraw_form=withdraw_form, remove_form=ConfirmForm(),
                           new_card_form=ConfirmForm()), status


@bp.get("/shops/<uuid:shop_id>/payment")
@customer_of_shop
def payment(person: people.Person, shop_id: str):  # type: ignore[no-untyped-def]
    return _payment_page(person, shop_id)


def _card_page(person: people.Person, shop_id: str, form: CardForm, status: int = 200) -> Any:
    """The card form with a new card setup (each showing of the form confirms its own SetupIntent)."""
    api = people.api(person)
    shop, customer = _reader(api, shop_id, person)
    setup = api.post("subscriptions", f"{_base(shop_id, person)}/card/setup")
    settings: WebSettings = current_app.extensions["web_settings"]
    allow_stripe_js(settings)
    form.setup_intent_id.data = ""
    return render_template("card.html", shop=shop, customer=customer, form=form, setup=setup,
                           stripe_js_url=settings.stripe_js_url), status


@bp.post("/shops/<uuid:shop_id>/payment/card/new")
@customer_of_shop
def new_card(person: people.Person, shop_id: str):  # type: ignore[no-untyped-def]
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for("payment.payment", shop_id=shop_id), 303)
    return _card_page(person, shop_id, CardForm(formdata=None))


@bp.post("/shops/<uuid:shop_id>/payment/card")
@customer_of_shop
def save_card(person: people.Person, shop_id: str):  # type: ignore[no-untyped-def]
    form = CardForm()
    if form.validate_on_submit():
        try:
            people.api(person).request("PUT", "subscriptions", f"{_base(shop_id, person)}/card",
                                       json={"setup_intent_id": form.setup_intent_id.data})
        except ApiError as err:
            if err.status not in (403, 409, 422):
                raise
            if err.status == 403:  # the card is someone else's (the API's detail is for developers)
                form.setup_intent_id.errors = [*form.setup_intent_id.errors, _("This card cannot be saved for "
                                                                                 "you. Use a card of your own.")]
            else:
                show_problem(form, err)
        else:
            flash(_("Your card is saved."))
            return redirect(url_for("payment.payment", shop_id=shop_id), 303)
    return _card_page(person, shop_id, form, 422)


@bp.post("/shops/<uuid:shop_id>/payment/card/remove")
@customer_of_shop
def remove_card(person: people.Person, shop_id: str):  # type: ignore[no-untyped-def]
    if ConfirmForm().validate_on_submit():
        people.api(person).request("DELETE", "subscriptions", f"{_base(shop_id, person)}/card")
        flash(_("Your card is removed. The shop can no longer charge it."))
    return redirect(url_for("payment.payment", shop_id=shop_id), 303)


@bp.post("/shops/<uuid:shop_id>/payment/permission")
@customer_of_shop
def allow_charges(person: people.Person, shop_id: str):  # type: ignore[no-untyped-def]
    form = ConsentForm()
    valid = form.validate_on_submit()
    if form.locale.errors:  # a hidden field this app fills: only a forged post gets it wrong
        abort(400)
    if valid:
        try:
            people.api(person).request("PUT", "subscriptions", f"{_base(shop_id, person)}/charges-permission",
                                       json={"locale": form.locale.data})
        except ApiError as err:
            if err.status not in (409, 422):
                raise
            show_problem(form, err, {"locale": "agree"})
        else:
            flash(_("You gave the shop permission to charge your card."))
            return redirect(url_for("payment.payment", shop_id=shop_id), 303)
    return _payment_page(person, shop_id, consent_form=form, status=422)


@bp.post("/shops/<uuid:shop_id>/payment/permission/withdraw")
@customer_of_shop
def withdraw_charges(person: people.Person, shop_id: str):  # type: ignore[no-untyped-def]
    form = WithdrawForm()
    if not form.validate_on_submit():  # a hidden field this app fills: only a forged post gets it wrong
        abort(400)
    people.api(person).request("DELETE", "subscriptions", f"{_base(shop_id, person)}/charges-permission",
                               params={"locale": form.locale.data})
    flash(_("You withdrew the shop's permission to charge your card."))
    return redirect(url_for("payment.payment", shop_id=shop_id), 303)
