"""shops.events -> shops, shop_methods, shop_managers."""

from __future__ import annotations

import psycopg

from shared_events import Envelope
from subscription_service.adapters.projections.sql import jsonb, update, upsert


def _bump(conn: psycopg.Connection, env: Envelope) -> None:
    update(conn, "shops", {"shop_id": env.aggregate_id}, {"updated_at": env.occurred_at,
                                                          "version": env.aggregate_version})


def shop_created(conn: psycopg.Connection, env: Envelope) -> None:
    upsert(conn, "shops", {"shop_id": env.payload["shop_id"]},
           {"settings": jsonb(env.payload["settings"]), "updated_at": env.occurred_at,
            "version": env.aggregate_version}, insert_only={"created_at": env.occurred_at})


def shop_updated(conn: psycopg.Connection, env: Envelope) -> None:
    conn.execute("UPDATE shops SET settings = settings || %s, updated_at = %s, version = %s "
                 "WHERE shop_id = %s AND version < %s",
                 [jsonb(env.payload["changes"]), env.occurred_at, env.aggregate_version, env.aggregate_id,
                  env.aggregate_version])


def _method_saved(method_type: str):  # type: ignore[no-untyped-def]
    def project(conn: psycopg.Connection, env: Envelope) -> None:
        p = env.payload
        upsert(conn, "shop_methods", {"method_id": p["method_id"]}, {
            "name": p["name"], "description": p.get("description"), "fee_flat": p["fee_flat"],
            "fee_percent_bp": p["fee_percent_bp"], "active": p["active"], "pickup": p.get("pickup"),
            "kind": p.get("kind"), "tax_category": p.get("tax_category"), "updated_at": env.occurred_at,
            "version": env.aggregate_version},
            insert_only={"shop_id": p["shop_id"], "method_type": method_type, "created_at": env.occurred_at})
        _bump(conn, env)

    return project


def method_removed(conn: psycopg.Connection, env: Envelope) -> None:
    update(conn, "shop_methods", {"method_id": env.payload["method_id"]},
           {"removed_at": env.occurred_at, "updated_at": env.occurred_at, "version": env.aggregate_version})
    _bump(conn, env)


def manager_added(conn: psycopg.Connection, env: Envelope) -> None:
    p = env.payload
    upsert(conn, "shop_managers", {"manager_id": p["manager_id"]},
           {"removed_at": None, "updated_at": env.occurred_at, "version": env.aggregate_version},
           insert_only={"shop_id": p["shop_id"], "email": p["email"], "added_at": env.occurred_at})
    _bump(conn, env)


def manager_removed(conn: psycopg.Connection, env: Envelope) -> None:
    update(conn, "shop_managers", {"manager_id": env.payload["manager_id"]},
           {"removed_at": env.occurred_at, "updated_at": env.occurred_at, "version": env.aggregate_version})
    _bump(conn, env)


PROJECTORS = {
    "ShopCreated": shop_created,
    "ShopUpdated": shop_updated,
    "ShippingMethodSaved": _method_saved("shipping"),
    "PaymentMethodSaved": _method_saved("payment"),
    "ShippingMethodRemoved": method_removed,
    "PaymentMethodRemoved": method_removed,
    "ShopManagerAdded": manager_added,
    "ShopManagerRemoved": manager_removed,
}
