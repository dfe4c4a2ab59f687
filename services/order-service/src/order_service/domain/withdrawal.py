"""Lines withdrawn from open orders after placement, because their variant left the catalog (OFN #6363). Pure: no I/O.

A variant deleted (VariantDeleted) or made unavailable (VariantUpdated with ``available`` false) after an order
was placed can no longer be delivered. Every order still open (placed, its cycle not closed) loses the line:
- one ``OrderLineWithdrawn`` per line, with the stock the line held released and the order's totals after it, so
  nothing is charged for it;
- an order left with nothing allocated is ``empty``, as one placed with nothing available: nothing to confirm,
  nothing to charge (a line is never kept at 0: #9092);
- orders confirmed, cancelled, empty or of a closed cycle are not changed: what was confirmed is what is charged.
A line whose subscription item names substitutes gets the first one with stock instead (``substitutes_for``: the
placement's rule, ``allocation.allocate_with_substitutes`` and ``placement.line_for``, not a second one), carried
by the same event (``substitute``): its stock allocated, taxed at the rate of its category the order was placed
with, the totals (tax included) with it.
A price change is not a withdrawal: placed lines keep the price they were placed at.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from order_service.domain.allocation import Claim, allocate_with_substitutes
from order_service.domain.model import Fees, Line, Order, Stock, next_line_id, stock_delta
from order_service.domain.placement import Variant, line_for
from shared_events.decided import Decided


@dataclass(frozen=True)
class Gone:
    """A variant that left the shop's catalog: why (``deleted`` or ``unavailable``), and the catalog event that
    said so."""

    variant_id: str
    cause: str
    catalog_event_id: str


def cause_of(*, available: bool, deleted: bool) -> str | None:
    """Why a variant in this state can no longer be delivered (``deleted``, ``unavailable``), or None: still sold."""
    if deleted:
        return "deleted"
    if not available:
        return "unavailable"
    return None


def _open(order: Order, now: datetime) -> bool:
    return order.status == "placed" and not order.is_closed(now)


def _item_of(line: Line, items: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The subscription item a line was placed for: the one naming its variant, or, for a line placed as a
    substitute, the one it stands for."""
    wanted = line.substitute_for["variant_id"] if line.substitute_for else line.variant_id
    return next((item for item in items if item["variant_id"] == wanted), None)


def substitutes_for(orders: Sequence[Order], gone: Mapping[str, Gone], items: Mapping[str, Sequence[Mapping[str, Any]]],
                    catalog: Mapping[str, Variant], stock: Stock, policy: str, now: datetime
                    ) -> dict[tuple[str, str], Line]:
    """The line placed instead of each withdrawn line that can have one, keyed by (order id, withdrawn line id):
    its subscription item's (``items`` by subscription id) first substitute with stock, for up to what the line
    asked, shared among these orders (in the order given) by the shop's ``policy`` as at placement. ``stock`` is
    reduced by what is given."""
    claims, held = [], {}
    for rank, order in enumerate(orders):
        if not _open(order, now):
            continue
        for index, line in enumerate(order.lines):
            item = _item_of(line, items.get(order.subscription_id, ())) if line.variant_id in gone else None
            if item is None or not item.get("substitutes") or line.requested_quantity <= 0:
                continue
            claims.append(Claim(rank, index, item["variant_id"], line.requested_quantity, tuple(item["substitutes"])))
            held[(rank, index)] = (order, line, item)
    placed: dict[tuple[str, str], Line] = {}
    used: dict[str, set[str]] = {}
    for key, pick in allocate_with_substitutes(claims, stock, policy).items():
        if pick.units <= 0:
            continue
        order, line, item = held[key]
        taken = used.setdefault(order.order_id, {other.line_id for other in order.lines})
        line_id = next_line_id(taken)
        taken.add(line_id)
        placed[(order.order_id, line.line_id)] = line_for(line_id, {**item, "quantity": line.requested_quantity},
                                                          pick, catalog, order.tax)
        stock.take(pick.variant_id, pick.units)
    return placed


def withdraw(order: Order, gone: Mapping[str, Gone], fees: Fees, now: datetime,
             substitutes: Mapping[tuple[str, str], Line] | None = None) -> list[Decided]:
    """The events withdrawing from ``order`` every line whose variant is in ``gone`` (by variant id), each with the
    line placed instead when ``substitutes`` (``substitutes_for``) has one; none when the order is not open (not
    placed, or its cycle has closed) or holds none of them."""
    if not _open(order, now):
        return []
    left = list(order.lines)
    decided = []
    for line in order.lines:
        why = gone.get(line.variant_id)
        if why is None:
            continue
        instead = (substitutes or {}).get((order.order_id, line.line_id))
        left = [other for other in left if other.line_id != line.line_id] + ([instead] if instead else [])
        decided.append(Decided("OrderLineWithdrawn", {
            "line_id": line.line_id, "variant_id": line.variant_id, "name": line.name, "unit_price": line.unit_price,
            "quantity": line.quantity, "cause": why.cause, "catalog_event_id": why.catalog_event_id,
            "status": "placed" if any(other.quantity > 0 for other in left) else "empty", "by": "system",
            "totals": order.totals(fees, left),
            "stock_delta": stock_delta([line], [instead] if instead else []),
            "substitute": instead.to_payload() if instead else None}))
    return decided
