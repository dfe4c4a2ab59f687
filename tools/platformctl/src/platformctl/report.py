"""A readable report of what the platform did: orders, payments and emails, per shop."""

from __future__ import annotations

import os
import time
from typing import Any

import requests
from rich.console import Console
from rich.table import Table

from platformctl.api import all_pages


def smtp_api() -> str:
    return os.environ.get("SMTP_API_URL", "http://127.0.0.1:8025")


def emails(since: float = 0.0) -> list[dict[str, Any]]:
    try:
        items = requests.get(f"{smtp_api()}/messages", timeout=10).json()
    except (requests.RequestException, ValueError):
        return []
    return [m for m in items if m.get("received_at", 0) >= since]


def snapshot() -> tuple[int, ...]:
    """Something that changes while the platform is still working through a boundary."""
    shops = all_pages("subscription-service", "/api/v1/shops")
    orders = payments = paid = 0
    for shop in shops:
        o = all_pages("order-service", f"/api/v1/shops/{shop['id']}/orders", parent_may_be_unknown=True)
        p = all_pages("billing-service", f"/api/v1/shops/{shop['id']}/payments", parent_may_be_unknown=True)
        orders += len(o) + sum(1 for x in o if x["status"] in ("confirmed",))
        payments += len(p)
        paid += sum(hash(x["status"]) % 997 for x in p)
    return orders, payments, paid, len(emails())


def settle(timeout: float = 90, quiet: float = 3.0) -> float:
    """Wait until nothing changes for ``quiet`` seconds; returns how long it took."""
    started = time.monotonic()
    last, stable_since = None, time.monotonic()
    while time.monotonic() - started < timeout:
        now = snapshot()
        if now != last:
            last, stable_since = now, time.monotonic()
        elif time.monotonic() - stable_since >= quiet:
            break
        time.sleep(0.5)
    return time.monotonic() - started


def print_report(console: Console, since: float = 0.0, cycle_ids: list[str] | None = None) -> None:
    for shop in all_pages("subscription-service", "/api/v1/shops"):
        orders = all_pages("order-service", f"/api/v1/shops/{shop['id']}/orders", parent_may_be_unknown=True)
        if cycle_ids:
            orders = [o for o in orders if o["order_cycle_id"] in cycle_ids]
        if not orders:
            continue
        payments = {p["order_id"]: p for p in all_pages("billing-service", f"/api/v1/shops/{shop['id']}/payments",
                                                        parent_may_be_unknown=True)}
        table = Table("order", "cycle", "customer", "status", "total", "payment", "detail",
                      title=f"{shop['name']} ({shop['currency']})")
        for o in sorted(orders, key=lambda o: (o.get("closes_at") or "", o["number"]))[-40:]:
            pay = payments.get(o["order_id"])
            total = o["totals"]["total"]
            detail = ""
            if pay:
                detail = (pay.get("failure") or {}).get("message") or pay.get("authorization_url") or ""
            if o.get("capped"):
                detail = ("quantities capped to stock. " + detail).strip()
            cust = o.get("customer") or {}
            table.add_row(o["number"], o.get("order_cycle_name") or "", cust.get("email", o["customer_id"][:8]),
                          o["status"], f"{total / 100:.2f}", pay["status"] if pay else "-", detail[:70])
        console.print(table)
    mails = emails(since)
    if mails:
        table = Table("to", "subject", title=f"emails sent ({len(mails)})")
        for m in mails[-40:]:
            table.add_row(", ".join(m["to"]), m.get("subject") or "")
        console.print(table)
