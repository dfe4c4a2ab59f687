"""Use cases of signing in by email: a customer asks for a one-time link (sent to the address the shop has for
them), then exchanges the link's token for a customer session of their own (a bearer token published on
identity.events, marked as obtained through the emailed link). Managers sign in the same way, with the same links
(hashed, expiring, used once, as many per address in a link's lifetime): the link names no shop, and the session it
opens is a manager token for every shop where the address is a manager when the link is used."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg

from servicekit.auth import EMAIL_SIGN_IN, Principal, new_token, token_hash
from subscription_service.adapters import repository as repo
from subscription_service.adapters.views import tokens as views
from subscription_service.domain import consent, tokens
from subscription_service.domain.customers import Customer, normalise_email
from subscription_service.domain.errors import Conflict, Unauthenticated
from subscription_service.domain.shops import Shop
from subscription_service.domain.tokens import SignInLink
from subscription_service.service_layer.caller import Caller
from subscription_service.service_layer.customers import load_customer
from subscription_service.service_layer.recorder import record_decided
from subscription_service.service_layer.shops import load_shop

LINK_PREFIX = "rsl_"
MAX_LINKS_PER_WINDOW = 5  # links sent to one person within one link lifetime; more are not sent (still a 202)


@dataclass(frozen=True)
class SignInMail:
    """What to send once the link is committed. ``shop_name``: the customer's shop, or the manager's shops."""

    link_id: str
    to: str
    locale: str
    shop_name: str
    url: str
    ttl_minutes: int
    expires_at: datetime
    role: str = "customer"


def _new_link(conn: psycopg.Connection, link: SignInLink, now: datetime, ttl: timedelta) -> str | None:
    """Record the link and return its secret, or None when enough links went to the same person lately."""
    if repo.sign_in_links_since(conn, link, now - ttl) >= MAX_LINKS_PER_WINDOW:
        return None
    secret = LINK_PREFIX + secrets.token_urlsafe(32)
    repo.add_sign_in_link(conn, link, token_hash(secret), now, now + ttl)
    return secret


def request_sign_in_link(conn: psycopg.Connection, now: datetime, shop_id: str, email: str, *, public_web_url: str,
                         ttl: timedelta) -> SignInMail | None:
    """A link for the shop's customer with this address, or None (no such shop or customer, or enough links sent
    lately): the caller answers the same either way, so nobody learns who is a customer."""
    shop = repo.shop(conn, shop_id)
    customer = repo.customer_by_email(conn, shop_id, normalise_email(email)) if shop is not None else None
    if shop is None or customer is None:
        return None
    return _customer_link(conn, now, shop, customer, public_web_url, ttl)


TOO_MANY_LINKS = ("{n} sign-in links were sent to this customer in the last {minutes} minutes: wait until the first "
                  "expires before sending another.")


def invite(conn: psycopg.Connection, caller: Caller, shop_id: str, customer_id: str, *, public_web_url: str,
           ttl: timedelta) -> SignInMail:
    """A manager invites the shop's customer: the same sign-in link email a customer asks for, sent to the address
    the shop has for them. The manager knows the customer, so a refusal is said: 404 for no such customer, 409 when
    enough links were sent lately (the same limit as the customer's own requests)."""
    shop = load_shop(conn, caller, shop_id)
    customer = load_customer(conn, shop_id, customer_id)
    mail = _customer_link(conn, caller.now, shop, customer, public_web_url, ttl)
    if mail is None:
        raise Conflict(TOO_MANY_LINKS.format(n=MAX_LINKS_PER_WINDOW, minutes=int(ttl.total_seconds() // 60)))
    return mail


def _customer_link(conn: psycopg.Connection, now: datetime, shop: Shop, customer: Customer, public_web_url: str,
                   ttl: timedelta) -> SignInMail | None:
    """Store a new one-time link for the customer (its token hashed) and say what to email, in their language."""
    link = SignInLink(str(uuid.uuid4()), shop.shop_id, customer.customer_id, customer.email)
    secret = _new_link(conn, link, now, ttl)
    if secret is None:
        return None
    locale = consent.language(None, customer.details.get("locale"), shop.settings.get("locale"))
    return SignInMail(link.link_id, customer.email, locale, shop.name, f"{public_web_url}/sign-in/{secret}",
                      int(ttl.total_seconds() // 60), now + ttl)


def request_manager_sign_in_link(conn: psycopg.Connection, now: datetime, email: str, *, public_web_url: str,
                                 ttl: timedelta) -> SignInMail | None:
    """A link for the manager with this address, or None (a manager of no shop, or enough links sent lately): the
    caller answers the same either way, so nobody learns who is a manager."""
    email = normalise_email(email)
    shops = [s for s in (repo.shop(conn, shop_id) for shop_id in repo.shops_managed_by(conn, email)) if s]
    if not shops:
        return None
    link = SignInLink(str(uuid.uuid4()), None, None, email, "manager")
    secret = _new_link(conn, link, now, ttl)
    if secret is None:
        return None
    shops.sort(key=lambda s: s.name.casefold())
    locales = {s.settings.get("locale") for s in shops}
    locale = consent.language(None, None, locales.pop() if len(locales) == 1 else None)
    return SignInMail(link.link_id, email, locale, ", ".join(s.name for s in shops),
                      f"{public_web_url}/manage/sign-in/{secret}", int(ttl.total_seconds() // 60), now + ttl,
                      "manager")


def open_session(conn: psycopg.Connection, now: datetime, correlation_id: str | None, secret: str,
                 ttl: timedelta) -> dict[str, Any]:
    """Use the link (once, before it expires) and issue the person's session (a customer's, or a manager's for the
    shops they manage now); its secret is shown once."""
    token_id = str(uuid.uuid4())
    link = repo.use_sign_in_link(conn, token_hash(secret), now, token_id)
    if link is None:
        raise Unauthenticated("This sign-in link is unknown, already used or expired: ask for a new one.")
    session_secret = new_token()
    if link.role == "manager":
        shop_ids = repo.shops_managed_by(conn, link.email)
        decided = tokens.open_manager_session(link, shop_ids, token_id, token_hash(session_secret), now, ttl)
        session = Principal("manager", token_id, frozenset(shop_ids), None, EMAIL_SIGN_IN)
        record_decided(conn, Caller(session, now, correlation_id=correlation_id), token_id, None, 0, decided)
    else:
        assert link.shop_id is not None and link.customer_id is not None  # a customer's link names both
        customer = repo.customer(conn, link.shop_id, link.customer_id, "share")
        decided = tokens.open_session(link, customer, token_id, token_hash(session_secret), now, ttl)
        session = Principal("customer", token_id, frozenset([link.shop_id]), link.customer_id, EMAIL_SIGN_IN)
        record_decided(conn, Caller(session, now, correlation_id=correlation_id), token_id, link.shop_id, 0, decided)
    return {**views.token(conn, token_id), "token": session_secret}  # type: ignore[dict-item]
