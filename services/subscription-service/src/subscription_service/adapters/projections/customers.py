"""customers.events -> customers."""

from __future__ import annotations

from typing import Any

import psycopg

from shared_events import Envelope
from subscription_service.adapters.projections.sql import jsonb, update, upsert

JSON_DETAILS = ("bill_address", "ship_address")


def _details(details: dict[str, Any]) -> dict[str, Any]:
    return {k: (jsonb(v) if k in JSON_DETAILS else v) for k, v in details.items()
            if k in ("email", "first_name", "last_name", "locale", *JSON_DETAILS)}


def _set(conn: psycopg.Connection, env: Envelope, values: dict[str, Any]) -> None:
    update(conn, "customers", {"customer_id": env.aggregate_id},
           {**values, "updated_at": env.occurred_at, "version": env.aggregate_version})


def customer_created(conn: psycopg.Connection, env: Envelope) -> None:
    p = env.payload
    details = {"locale": None, "bill_address": None, "ship_address": None, **_details(p["details"])}
    upsert(conn, "customers", {"customer_id": p["customer_id"]},
           {**details, "updated_at": env.occurred_at, "version": env.aggregate_version},
           insert_only={"shop_id": p["shop_id"], "created_at": env.occurred_at})


PROJECTORS = {
    "CustomerCreated": customer_created,
    "CustomerUpdated": lambda c, e: _set(c, e, _details(e.payload["changes"])),
    "StripeCustomerCreated": lambda c, e: _set(c, e, {"platform_stripe_customer_id": e.payload["stripe_customer_id"]}),
    "CustomerCardSet": lambda c, e: _set(c, e, {
        "stripe_customer_id": e.payload["stripe_customer_id"], "card_payment_method_id": e.payload["payment_method_id"],
        "card_brand": e.payload.get("card_brand"), "card_last4": e.payload.get("card_last4"),
        "card_exp_month": e.payload.get("card_exp_month"), "card_exp_year": e.payload.get("card_exp_year")}),
    "CustomerCardRemoved": lambda c, e: _set(c, e, {
        "stripe_customer_id": None, "card_payment_method_id": None, "card_brand": None, "card_last4": None,
        "card_exp_month": None, "card_exp_year": None, "allow_charges": False}),
    "CustomerChargesAllowed": lambda c, e: _set(c, e, {"allow_charges": True}),
    "CustomerChargesRevoked": lambda c, e: _set(c, e, {"allow_charges": False}),
    "CustomerDeleted": lambda c, e: _set(c, e, {"deleted_at": e.occurred_at}),
}
