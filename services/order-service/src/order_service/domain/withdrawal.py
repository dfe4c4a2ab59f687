"""Lines withdrawn from open orders after placement, because their variant left the catalog (OFN #6363). Pure: no I/O.

A variant deleted (VariantDeleted) or made unavailable (VariantUpdated with ``available`` false) after an order
was placed can no longer be delivered. Every order still open (placed, its cycle not closed) loses the line:
- one ``OrderLineWithdrawn`` per line, with the stock the line held released and the order's totals after it, so
  nothing is charged for it;
- an order left with nothing allocated is ``empty``, as one placed with nothing available: nothing to confirm,
  nothing to charge (a line is never kept at 0: #9092);
- orders confirmed, cancelled, empty or of a closed cycle are not changed: what was confirmed is what is charged.
A price change is not a withdrawal: placed lines keep the price they were placed at.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from order_service.domain.model import Fees, Order, stock_delta
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


def withdraw(order: Order, gone: Mapping[str, Gone], fees: Fees, now: datetime) -> list[Decided]:
    """The events withdrawing from ``order`` every line whose variant is in ``gone`` (by variant id); none when the
    order is not open (not placed, or its cycle has closed) or holds none of them."""
    if order.status != "placed" or order.is_closed(now):
        return []
    left = list(order.lines)
    decided = []
    for line in order.lines:
        why = gone.get(line.variant_id)
        if why is None:
            continue
        left = [other for other in left if other.line_id != line.line_id]
        decided.append(Decided("OrderLineWithdrawn", {
            "line_id": line.line_id, "variant_id": line.variant_id, "name": line.name, "unit_price": line.unit_price,
            "quantity": line.quantity, "cause": why.cause, "catalog_event_id": why.catalog_event_id,
            "status": "placed" if any(other.quantity > 0 for other in left) else "empty", "by": "system",
            "totals": fees.totals(left, order.shipping_method_id, order.payment_method_id),
            "stock_delta": stock_delta([line], [])}))
    return decided
