"""Use cases on a shop's customers: details (managers), card and charge permission (the customer only, in a session
they opened with the link emailed to them)."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg

from servicekit.auth import EMAIL_SIGN_IN
from subscription_service.adapters import repository as repo
from subscription_service.adapters.stripe_cards import StripeCards
from subscription_service.adapters.views import customers as views
from subscription_service.domain import access, consent, customers, tokens
from subscription_service.domain.customers import Consent, Customer
from subscription_service.domain.errors import NotFound
from subscription_service.domain.shops import Shop
from subscription_service.service_layer.caller import Caller
from subscription_service.service_layer.recorder import envelopes, record, record_decided
from subscription_service.service_layer.shops import load_shop


def load_customer(conn: psycopg.Connection, shop_id: str, customer_id: str, lock: str | None = None) -> Customer:
    c = repo.customer(conn, shop_id, customer_id, lock)
    if c is None or c.deleted:
        raise NotFound("No such customer.")
    return c


def _view(conn: psycopg.Connection, shop_id: str, customer_id: str) -> dict[str, Any]:
    return views.customer(conn, shop_id, customer_id)  # type: ignore[return-value]


def create_customer(conn: psycopg.Connection, caller: Caller, shop_id: str, details: dict[str, Any]) -> dict[str, Any]:
    load_shop(conn, caller, shop_id)
    customer_id = str(uuid.uuid4())
    taken = bool(details.get("email")) and repo.email_taken(conn, shop_id, details["email"].strip())
    decided = customers.create_customer(customer_id, shop_id, details, caller.by, email_taken=taken)
    record_decided(conn, caller, customer_id, shop_id, 0, decided)
    return _view(conn, shop_id, customer_id)


def get_customer(conn: psycopg.Connection, caller: Caller, shop_id: str, customer_id: str) -> dict[str, Any]:
    access.see_customer(caller.principal, shop_id, customer_id)
    load_shop(conn, caller, shop_id, manage=False)
    load_customer(conn, shop_id, customer_id)
    return _view(conn, shop_id, customer_id)


def update_customer(conn: psycopg.Connection, caller: Caller, shop_id: str, customer_id: str,
                    changes: dict[str, Any]) -> dict[str, Any]:
    """Managers edit details; an address the customer proved is changed by the customer alone, in their session. A new
    email address ends the sessions the customer opened with links sent to the old one."""
    in_person = access.edit_customer(caller.principal, shop_id, customer_id)
    load_shop(conn, caller, shop_id, manage=False)
    c = load_customer(conn, shop_id, customer_id, "update")
    caller.check_version(c.version)
    taken = "email" in changes and repo.email_taken(conn, shop_id, changes["email"].strip(), customer_id)
    decided = customers.update_customer(c, changes, caller.by, email_taken=taken, in_person=in_person)
    envs = envelopes(caller, customer_id, shop_id, c.version, decided)
    if any("email" in d.payload["changes"] for d in decided):  # sessions were proven by the old address
        for t in repo.live_tokens_of_customer(conn, shop_id, customer_id):
            if t.obtained_by == EMAIL_SIGN_IN:
                envs += envelopes(caller, t.token_id, None, t.version, tokens.end_session(t, caller.by))
    record(conn, envs)
    return _view(conn, shop_id, customer_id)


def delete_customer(conn: psycopg.Connection, caller: Caller, shop_id: str, customer_id: str) -> None:
    """Refused while subscriptions are not cancelled; the customer's tokens are revoked with them."""
    access.see_customer(caller.principal, shop_id, customer_id)
    load_shop(conn, caller, shop_id)
    c = load_customer(conn, shop_id, customer_id, "update")
    caller.check_version(c.version)
    decided = customers.delete_customer(c, repo.live_subscriptions_of_customer(conn, customer_id), caller.by)
    envs = envelopes(caller, customer_id, shop_id, c.version, decided)
    for t in repo.live_tokens_of_customer(conn, shop_id, customer_id):
        envs += envelopes(caller, t.token_id, None, t.version, tokens.revoke_token(caller.principal, t, caller.by)
                          if tokens.may_see_token(caller.principal, t) else [])
    record(conn, envs)


def _in_person(conn: psycopg.Connection, caller: Caller, shop_id: str,
               customer_id: str) -> tuple[Shop, Customer]:
    """The shop and the customer (locked), for what only the customer in a session of their own may do."""
    access.act_in_person(caller.principal, shop_id, customer_id)
    shop = load_shop(conn, caller, shop_id, manage=False)
    c = load_customer(conn, shop_id, customer_id, "update")
    caller.check_version(c.version)
    return shop, c


def start_card_setup(conn: psycopg.Connection, caller: Caller, shop_id: str, customer_id: str,
                     stripe: StripeCards) -> dict[str, Any]:
    """A SetupIntent on the customer's own Stripe Customer (created here the first time, under the customer's row
    lock so that two setups never make two), for the customer's browser to confirm with Stripe.js."""
    _, c = _in_person(conn, caller, shop_id, customer_id)
    stripe_customer_id = c.stripe_customer_id
    if stripe_customer_id is None:
        stripe_customer_id = stripe.create_customer(customer_id, shop_id, c.email)
        record_decided(conn, caller, customer_id, shop_id, c.version,
                       customers.open_stripe_customer(c, stripe_customer_id, caller.by))
    setup_intent_id, client_secret = stripe.create_setup_intent(stripe_customer_id, customer_id, shop_id)
    return {"setup_intent_id": setup_intent_id, "client_secret": client_secret,
            "publishable_key": stripe.keys.publishable_key, "stripe_js_url": stripe.keys.js_url,
            "stripe_api_base": stripe.keys.api_base}


def set_card(conn: psycopg.Connection, caller: Caller, shop_id: str, customer_id: str, setup_intent_id: str,
             stripe: StripeCards) -> dict[str, Any]:
    """Save the card of a SetupIntent the customer confirmed, once Stripe says it is theirs."""
    _, c = _in_person(conn, caller, shop_id, customer_id)
    setup = stripe.setup_intent(setup_intent_id) if c.stripe_customer_id is not None else None
    pm_id, pm = customers.payment_method_wanted(c, setup), None
    if pm_id is not None and c.stripe_customer_id is not None:
        pm = stripe.payment_method(pm_id)
        if pm is not None and pm.stripe_customer_id is None:  # localstripe does not attach on confirm; Stripe does
            pm = stripe.attach(pm.payment_method_id, c.stripe_customer_id)
    card = customers.card_from_setup(c, setup, pm)
    record_decided(conn, caller, customer_id, shop_id, c.version, customers.set_card(c, card, caller.by))
    return _view(conn, shop_id, customer_id)


def remove_card(conn: psycopg.Connection, caller: Caller, shop_id: str, customer_id: str) -> dict[str, Any]:
    _, c = _in_person(conn, caller, shop_id, customer_id)
    record_decided(conn, caller, customer_id, shop_id, c.version, customers.remove_card(c, caller.by))
    return _view(conn, shop_id, customer_id)


def _consent(caller: Caller, shop: Shop, c: Customer, kind: str, locale: str | None) -> Consent:
    lang = consent.language(locale, c.details.get("locale"), shop.settings.get("locale"))
    return Consent(at=caller.now, method=consent.METHOD_EMAIL_SIGN_IN, session_id=caller.principal.token_id,
                   text=consent.text(kind, lang, shop.name), locale=lang, email=c.email)


def charges_permission(conn: psycopg.Connection, caller: Caller, shop_id: str, customer_id: str,
                       locale: str | None) -> dict[str, Any]:
    """Whether charges are allowed, and the texts a page shows to allow or withdraw them (in ``locale``, else the
    customer's language, else the shop's)."""
    access.see_customer(caller.principal, shop_id, customer_id)
    shop = load_shop(conn, caller, shop_id, manage=False)
    c = load_customer(conn, shop_id, customer_id)
    lang = consent.language(locale, c.details.get("locale"), shop.settings.get("locale"))
    return {"allowed": c.allow_charges, "has_card": c.card is not None, "locale": lang,
            "consent_text": consent.text("allow", lang, shop.name),
            "withdrawal_text": consent.text("withdraw", lang, shop.name), "version": c.version}


def allow_charges(conn: psycopg.Connection, caller: Caller, shop_id: str, customer_id: str,
                  locale: str | None = None) -> dict[str, Any]:
    shop, c = _in_person(conn, caller, shop_id, customer_id)
    decided = customers.allow_charges(c, _consent(caller, shop, c, "allow", locale), caller.by)
    record_decided(conn, caller, customer_id, shop_id, c.version, decided)
    return _view(conn, shop_id, customer_id)


def revoke_charges(conn: psycopg.Connection, caller: Caller, shop_id: str, customer_id: str,
                   locale: str | None = None) -> dict[str, Any]:
    shop, c = _in_person(conn, caller, shop_id, customer_id)
    decided = customers.revoke_charges(c, _consent(caller, shop, c, "withdraw", locale), caller.by)
    record_decided(conn, caller, customer_id, shop_id, c.version, decided)
    return _view(conn, shop_id, customer_id)


def list_customers(conn: psycopg.Connection, caller: Caller, shop_id: str, page: Any,
                   q: str | None) -> tuple[list, Any]:
    load_shop(conn, caller, shop_id, manage=False)
    only = caller.principal.customer_id if caller.principal.is_customer else None
    return views.list_customers(conn, shop_id, page, q, only)
