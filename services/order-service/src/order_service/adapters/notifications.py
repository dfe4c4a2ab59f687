"""The notifications table: emails to send, queued in the transaction of what they tell.

A notification's id is derived from what it tells (kind + the order, payment attempt or run it is
about), so a redelivered or replayed trigger finds the row already there and adds nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from order_service.adapters import bulk

NAMESPACE = uuid.UUID("0f6b1a2c-7d1e-4c3b-9a8f-5e4d3c2b1a09")

# kind -> who receives it
RECIPIENTS = {
    "order_placed": "customer",
    "order_empty": "customer",
    "order_confirmed": "customer",
    "order_paid": "customer",  # a payment marked paid (cash), to a shop that emails receipts
    "order_cancelled": "customer",
    "payment_failed": "customer",
    "authorization_required": "customer",
    "placement_summary": "shop_contact",
    "confirmation_summary": "shop_contact",
    "payment_failed_shop": "shop_contact",
    "authorization_required_shop": "shop_owner",
    "order_reminder": "customer",
    "subscription_created": "customer",
    "subscription_changed": "customer",
    "subscription_paused": "customer",
    "subscription_cancelled": "customer",
    "charges_allowed": "customer",
    "charges_withdrawn": "customer",
    "order_cancelled_shop": "shop_contact",
    "delivery_skipped_shop": "shop_contact",
    "line_withdrawn": "customer",
    "lines_withdrawn_shop": "shop_contact",
}


def notification_id(kind: str, key: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{kind}:{key}"))


@dataclass(frozen=True)
class Notice:
    kind: str
    key: str  # what makes it unique within its kind (an order id, "payment:attempt", a run id)
    shop_id: str
    customer_id: str | None = None
    order_id: str | None = None
    event_id: str | None = None  # our event whose payload is the email's snapshot
    payload: dict[str, Any] = field(default_factory=dict)

    @property
    def notification_id(self) -> str:
        return notification_id(self.kind, self.key)


COLUMNS = ("notification_id", "kind", "recipient", "shop_id", "customer_id", "order_id", "event_id", "payload")


def queue(conn: psycopg.Connection, notices: Sequence[Notice]) -> None:
    if not notices:
        return
    columns = ", ".join(COLUMNS)
    bulk.staged(conn, "notifications", "notifications", COLUMNS,
                [(n.notification_id, n.kind, RECIPIENTS[n.kind], n.shop_id, n.customer_id, n.order_id, n.event_id,
                  Jsonb(n.payload)) for n in notices],
                f"INSERT INTO notifications ({columns}) SELECT {columns} FROM {{staged}} "  # noqa: S608 - column names from the COLUMNS constant
                "ON CONFLICT (notification_id) DO NOTHING")
