"""Use cases of signing in by email: a customer asks for a one-time link (sent to the address the shop has for
them), then exchanges the link's token for a customer session of their own (a bearer token published on
identity.events, marked as obtained through the emailed link)."""

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
from subscription_service.domain.customers import normalise_email
from subscription_service.domain.errors import Unauthenticated
from subscription_service.domain.tokens import SignInLink
from subscription_service.service_layer.caller import Caller
from subscription_service.service_layer.recorder import record_decided

LINK_PREFIX = "rsl_"
MAX_LINKS_PER_WINDOW = 5  # links sent to one customer within one link lifetime; more are not sent (still a 202)


@dataclass(frozen=True)
class SignInMail:
    """What to send once the link is committed."""

    link_id: str
    to: str
    locale: str
    shop_name: str
    url: str
    ttl_minutes: int


def request_sign_in_link(conn: psycopg.Connection, now: datetime, shop_id: str, email: str, *, public_web_url: str,
                         ttl: timedelta) -> SignInMail | None:
    """A link for the shop's customer with this address, or None (no such shop or customer, or enough links sent
    lately): the caller answers the same either way, so nobody learns who is a customer."""
    shop = repo.shop(conn, shop_id)
    customer = repo.customer_by_email(conn, shop_id, normalise_email(email)) if shop is not None else None
    if shop is None or customer is None:
        return None
    if repo.sign_in_links_since(conn, customer.customer_id, now - ttl) >= MAX_LINKS_PER_WINDOW:
        return None
    secret = LINK_PREFIX + secrets.token_urlsafe(32)
    link = SignInLink(str(uuid.uuid4()), shop_id, customer.customer_id, customer.email)
    repo.add_sign_in_link(conn, link, token_hash(secret), now, now + ttl)
    locale = consent.language(None, customer.details.get("locale"), shop.settings.get("locale"))
    return SignInMail(link.link_id, customer.email, locale, shop.name, f"{public_web_url}/sign-in/{secret}",
                      int(ttl.total_seconds() // 60))


def open_session(conn: psycopg.Connection, now: datetime, correlation_id: str | None, secret: str,
                 ttl: timedelta) -> dict[str, Any]:
    """Use the link (once, before it expires) and issue the customer's session; its secret is shown once."""
    token_id = str(uuid.uuid4())
    link = repo.use_sign_in_link(conn, token_hash(secret), now, token_id)
    if link is None:
        raise Unauthenticated("This sign-in link is unknown, already used or expired: ask for a new one.")
    customer = repo.customer(conn, link.shop_id, link.customer_id, "share")
    session_secret = new_token()
    decided = tokens.open_session(link, customer, token_id, token_hash(session_secret), now, ttl)
    session = Principal("customer", token_id, frozenset([link.shop_id]), link.customer_id, EMAIL_SIGN_IN)
    record_decided(conn, Caller(session, now, correlation_id=correlation_id), token_id, link.shop_id, 0, decided)
    return {**views.token(conn, token_id), "token": session_secret}  # type: ignore[dict-item]
