"""Use cases of the REST API: one function per command, run in the request's transaction.

Each loads the order ``FOR UPDATE`` (404 when absent, of another shop, or not the customer's own),
checks If-Match, asks the pure domain (domain.editing) for the events, and records them (outbox +
the same projection a replay uses).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg

from order_service.adapters import notifications, repository
from order_service.domain import commands, editing
from order_service.domain.model import Order
from order_service.domain.placement import Variant
from order_service.service_layer.recording import record
from servicekit.auth import Principal
from servicekit.web.http import etag
from servicekit.web.problems import NotFound, PreconditionFailed
from shared_events import Decided


@dataclass(frozen=True)
class Request:
    """Who asks, when, with which If-Match and reason."""

    principal: Principal
    now: datetime
    expected_version: int | None = None
    reason: str | None = None
    correlation_id: str | None = None


def ensure_shop_visible(principal: Principal, shop_id: str) -> None:
    if not principal.can_see_shop(shop_id):
        raise NotFound(f"No shop {shop_id}.")


def load(conn: psycopg.Connection, shop_id: str, order_id: str, req: Request) -> tuple[Order, editing.Editor]:
    ensure_shop_visible(req.principal, shop_id)
    found = repository.order_for_update(conn, shop_id, order_id)
    if found is None or (req.principal.is_customer and found[0].customer_id != req.principal.customer_id):
        raise NotFound(f"No order {order_id} in this shop.")
    order, customers_may_change = found
    if req.expected_version is not None and req.expected_version != order.version:
        raise PreconditionFailed(f"You sent If-Match {etag(req.expected_version)} but the current version is "
                                 f"{etag(order.version)}.", headers={"ETag": etag(order.version)})
    role = "customer" if req.principal.is_customer else "manager"
    return order, editing.Editor(role, customers_may_change)


def products_to_add(conn: psycopg.Connection, shop_id: str, order_id: str, principal: Principal) -> list[Variant]:
    """What a manager may add to the order (editing.products_to_add); 404 when the shop has no such order."""
    ensure_shop_visible(principal, shop_id)
    order = repository.order(conn, shop_id, order_id)
    if order is None:
        raise NotFound(f"No order {order_id} in this shop.")
    return editing.products_to_add(order, repository.sellable_catalog(conn, shop_id))


def _record(conn: psycopg.Connection, order: Order, decision: list[Decided], req: Request) -> None:
    if decision:
        record(conn, order, decision, occurred_at=req.now, actor=req.principal.actor(), reason=req.reason,
               correlation_id=req.correlation_id)


def change_line_quantity(conn: psycopg.Connection, cmd: commands.ChangeLineQuantity, req: Request) -> None:
    order, editor = load(conn, cmd.shop_id, cmd.order_id, req)
    line = order.line(cmd.line_id)
    _, stock, fees, _ = repository.catalog_and_fees(conn, order.shop_id, [line.variant_id] if line else [])
    _record(conn, order, editing.change_line_quantity(order, cmd, editor, stock, fees, req.now), req)


def remove_line(conn: psycopg.Connection, cmd: commands.RemoveLine, req: Request) -> None:
    order, editor = load(conn, cmd.shop_id, cmd.order_id, req)
    line = order.line(cmd.line_id)  # the released units go back to a locked stock row
    _, _, fees, _ = repository.catalog_and_fees(conn, order.shop_id, [line.variant_id] if line else [])
    _record(conn, order, editing.remove_line(order, cmd, editor, fees, req.now), req)


def add_line(conn: psycopg.Connection, cmd: commands.AddLine, req: Request) -> None:
    order, editor = load(conn, cmd.shop_id, cmd.order_id, req)
    catalog, stock, fees, _ = repository.catalog_and_fees(conn, order.shop_id, [cmd.variant_id])
    decision = editing.add_line(order, cmd, editor, catalog.get(cmd.variant_id), stock, fees, req.now)
    _record(conn, order, decision, req)


def change_details(conn: psycopg.Connection, cmd: commands.ChangeDetails, req: Request) -> None:
    order, editor = load(conn, cmd.shop_id, cmd.order_id, req)
    fees, methods = repository.fees_and_methods(conn, order.shop_id)
    _record(conn, order, editing.change_details(order, cmd, editor, methods, fees, req.now), req)


def cancel_order(conn: psycopg.Connection, cmd: commands.CancelOrder, req: Request) -> None:
    order, editor = load(conn, cmd.shop_id, cmd.order_id, req)
    repository.catalog_for_update(conn, order.shop_id, [line.variant_id for line in order.lines])
    decision = editing.cancel(order, editor, req.now)
    record(conn, order, decision, occurred_at=req.now, actor=req.principal.actor(), reason=req.reason,
           correlation_id=req.correlation_id)
    told = ["order_cancelled", "order_cancelled_shop"] if editor.role == "customer" else ["order_cancelled"]
    notifications.queue(conn, [notifications.Notice(kind, f"{order.order_id}:{order.version + 1}", order.shop_id,
                                                    order.customer_id, order.order_id) for kind in told])


def resume_order(conn: psycopg.Connection, cmd: commands.ResumeOrder, req: Request) -> None:
    order, editor = load(conn, cmd.shop_id, cmd.order_id, req)
    _, stock, fees, _ = repository.catalog_and_fees(conn, order.shop_id, [line.variant_id for line in order.lines])
    _record(conn, order, editing.resume(order, editor, stock, fees, req.now), req)
