"""Use cases on a shop's customers: details (managers), card and charge permission (the customer only)."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg

from subscription_service.adapters import repository as repo
from subscription_service.adapters.views import customers as views
from subscription_service.domain import access, customers, tokens
from subscription_service.domain.customers import Card, Customer
from subscription_service.domain.errors import NotFound
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
    access.see_customer(caller.principal, shop_id, customer_id)
    load_shop(conn, caller, shop_id)
    c = load_customer(conn, shop_id, customer_id, "update")
    caller.check_version(c.version)
    taken = "email" in changes and repo.email_taken(conn, shop_id, changes["email"].strip(), customer_id)
    decided = customers.update_customer(c, changes, caller.by, email_taken=taken)
    record_decided(conn, caller, customer_id, shop_id, c.version, decided)
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


def _as_customer(conn: psycopg.Connection, caller: Caller, shop_id: str, customer_id: str) -> Customer:
    access.be_customer(caller.principal, shop_id, customer_id)
    load_shop(conn, caller, shop_id, manage=False)
    c = load_customer(conn, shop_id, customer_id, "update")
    caller.check_version(c.version)
    return c


def set_card(conn: psycopg.Connection, caller: Caller, shop_id: str, customer_id: str,
             card: dict[str, Any]) -> dict[str, Any]:
    c = _as_customer(conn, caller, shop_id, customer_id)
    decided = customers.set_card(c, Card(card["stripe_customer_id"], card["payment_method_id"], card.get("brand"),
                                         card.get("last4")), caller.by)
    record_decided(conn, caller, customer_id, shop_id, c.version, decided)
    return _view(conn, shop_id, customer_id)


def remove_card(conn: psycopg.Connection, caller: Caller, shop_id: str, customer_id: str) -> dict[str, Any]:
    c = _as_customer(conn, caller, shop_id, customer_id)
    record_decided(conn, caller, customer_id, shop_id, c.version, customers.remove_card(c, caller.by))
    return _view(conn, shop_id, customer_id)


def allow_charges(conn: psycopg.Connection, caller: Caller, shop_id: str, customer_id: str) -> dict[str, Any]:
    c = _as_customer(conn, caller, shop_id, customer_id)
    record_decided(conn, caller, customer_id, shop_id, c.version, customers.allow_charges(c, caller.by))
    return _view(conn, shop_id, customer_id)


def revoke_charges(conn: psycopg.Connection, caller: Caller, shop_id: str, customer_id: str) -> dict[str, Any]:
    c = _as_customer(conn, caller, shop_id, customer_id)
    record_decided(conn, caller, customer_id, shop_id, c.version, customers.revoke_charges(c, caller.by))
    return _view(conn, shop_id, customer_id)


def list_customers(conn: psycopg.Connection, caller: Caller, shop_id: str, page: Any,
                   q: str | None) -> tuple[list, Any]:
    load_shop(conn, caller, shop_id, manage=False)
    only = caller.principal.customer_id if caller.principal.is_customer else None
    return views.list_customers(conn, shop_id, page, q, only)
