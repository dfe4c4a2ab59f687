"""Edits of a placed order until its cycle closes (reference sections 4, 7 and checklist 42-44, 55).

- Managers may change any line, add or remove items, change the shipping/payment method and the
  addresses, cancel and resume the order.
- Customers may change quantities (within stock), remove lines (never the last one: they cancel
  instead) and cancel, only when the shop allows customer changes.
- After the close (or once confirmed) every change is refused.
Each decision returns the events to record as (event type, payload without the order's ids);
the order itself is not changed here. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from order_service.domain import errors
from order_service.domain.commands import AddLine, ChangeDetails, ChangeLineQuantity, RemoveLine
from order_service.domain.model import Fees, Line, Order, Payload, Stock, stock_delta
from order_service.domain.placement import Variant
from shared_events.decided import Decided

Decision = list[Decided]

LAST_LINE = "Cannot remove the final item from an order, please cancel the order instead."
CANCELLED_BY_OTHERS = ("This order was not cancelled by you: only the shop can resume it; please contact the "
                       "shop.")


@dataclass(frozen=True)
class Editor:
    """Who asks: ``manager`` (an admin acts as one) or ``customer``, and the shop's setting."""

    role: str
    shop_allows_customer_changes: bool

    @property
    def is_customer(self) -> bool:
        return self.role == "customer"


@dataclass(frozen=True)
class Method:
    method_id: str
    kind: str  # shipping | payment
    usable: bool  # active and not removed
    payment_kind: str | None = None


def _when(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC")


def ensure_open(order: Order, now: datetime) -> None:
    if order.status == "confirmed":
        raise errors.OrderClosed(f"Order {order.number} is confirmed: its order cycle has closed and it can no "
                                 "longer be changed.")
    if order.is_closed(now):
        raise errors.OrderClosed(f"The order cycle closed at {_when(order.closes_at)}: order {order.number} can no "
                                 "longer be changed.")


def ensure_editable(order: Order, editor: Editor, now: datetime) -> None:
    """The checks every line edit starts with."""
    ensure_may_change(editor)
    ensure_open(order, now)
    if order.status == "cancelled":
        raise errors.OrderNotEditable(f"Order {order.number} is cancelled: resume it before changing it.")
    if order.status == "empty":
        raise errors.OrderNotEditable(f"Nothing was available for order {order.number}: there is nothing to change.")


def ensure_may_change(editor: Editor) -> None:
    if editor.is_customer and not editor.shop_allows_customer_changes:
        raise errors.ChangeNotAllowed("This shop does not allow customers to change or cancel their orders; "
                                      "please contact the shop.")


def ensure_manager(editor: Editor, what: str) -> None:
    if editor.is_customer:
        raise errors.ChangeNotAllowed(f"Only the shop's managers can {what}.")


def _line(order: Order, line_id: str) -> Line:
    line = order.line(line_id)
    if line is None:
        raise errors.LineNotFound(f"Order {order.number} has no line {line_id}.")
    return line


def _check_stock(line_or_variant: str, name: str, more: int, stock: Stock, have: int) -> None:
    available = stock.available(line_or_variant)
    if more > 0 and available is not None and available < more:
        raise errors.InvalidChange(f"Not enough stock of {name}: at most {have + available} can be on this order.",
                                   {"quantity": [f"At most {have + available} available."]})


def change_line_quantity(order: Order, cmd: ChangeLineQuantity, editor: Editor, stock: Stock, fees: Fees,
                         now: datetime) -> Decision:
    ensure_editable(order, editor, now)
    line = _line(order, cmd.line_id)
    if cmd.quantity < 1:
        raise errors.InvalidChange("A quantity must be at least 1; remove the line instead.",
                                   {"quantity": ["Must be at least 1."]})
    if cmd.quantity == line.quantity and cmd.quantity == line.requested_quantity:
        return []
    _check_stock(line.variant_id, line.name, cmd.quantity - line.quantity, stock, line.quantity)
    changed = replace(line, quantity=cmd.quantity, requested_quantity=cmd.quantity, edited_by=editor.role)
    lines = [changed if other.line_id == line.line_id else other for other in order.lines]
    return [Decided("OrderLineChanged", {
        "line_id": line.line_id, "variant_id": line.variant_id, "quantity": cmd.quantity,
        "previous_quantity": line.quantity, "requested_quantity": cmd.quantity, "by": editor.role,
        "tax": changed.tax,
        "totals": order.totals(fees, lines),
        "stock_delta": stock_delta([line], [changed])})]


def remove_line(order: Order, cmd: RemoveLine, editor: Editor, fees: Fees, now: datetime) -> Decision:
    ensure_editable(order, editor, now)
    line = _line(order, cmd.line_id)
    rest = [other for other in order.lines if other.line_id != line.line_id]
    if not any(other.quantity > 0 for other in rest):
        raise errors.InvalidChange(LAST_LINE, {"line_id": [LAST_LINE]})
    return [Decided("OrderLineRemoved", {
        "line_id": line.line_id, "variant_id": line.variant_id, "by": editor.role,
        "totals": order.totals(fees, rest),
        "stock_delta": stock_delta([line], [])})]


def cannot_add(order: Order, variant_id: str, variant: Variant | None) -> errors.InvalidChange | None:
    """Why this product cannot be added to the order (not sold by the shop, already on it), or None."""
    if variant is None or not variant.sellable:
        return errors.InvalidChange(f"{variant_id} is not sold by this shop.",
                                    {"variant_id": ["Not available from this shop."]})
    if order.line_for_variant(variant_id) is not None:
        return errors.InvalidChange(f"{variant.name} is already on this order: change its quantity instead.",
                                    {"variant_id": ["Already on this order."]})
    return None


def products_to_add(order: Order, catalog: Iterable[Variant]) -> list[Variant]:
    """The products a manager may add to the order now (the ones ``add_line`` would take), by name: sold by the
    shop, not on the order yet, and with stock left (None: unlimited)."""
    return sorted((v for v in catalog if cannot_add(order, v.variant_id, v) is None
                   and (v.on_hand is None or v.on_hand > 0)), key=lambda v: (v.name.casefold(), v.variant_id))


def add_line(order: Order, cmd: AddLine, editor: Editor, variant: Variant | None, stock: Stock, fees: Fees,
             now: datetime) -> Decision:
    ensure_manager(editor, "add products to an order")
    ensure_editable(order, editor, now)
    refused = cannot_add(order, cmd.variant_id, variant)
    if refused is not None:
        raise refused
    assert variant is not None  # cannot_add refuses an unknown variant
    if cmd.quantity < 1:
        raise errors.InvalidChange("A quantity must be at least 1.", {"quantity": ["Must be at least 1."]})
    _check_stock(cmd.variant_id, variant.name, cmd.quantity, stock, 0)
    line = Line(order.next_line_id(), cmd.variant_id, variant.name, variant.unit_price, cmd.quantity, cmd.quantity,
                editor.role, **order.tax.line_tax(variant.tax_category))
    lines = [*order.lines, line]
    return [Decided("OrderLineAdded", {
        "line": line.to_payload(), "by": editor.role,
        "totals": order.totals(fees, lines),
        "stock_delta": stock_delta([], [line])})]


def change_details(order: Order, cmd: ChangeDetails, editor: Editor, methods: dict[tuple[str, str], Method],
                   fees: Fees, now: datetime) -> Decision:
    ensure_manager(editor, "change an order's shipping, payment or addresses")
    ensure_editable(order, editor, now)
    payload: Payload = {}
    problems: dict[str, list[str]] = {}
    for kind, field in (("shipping", "shipping_method_id"), ("payment", "payment_method_id")):
        wanted = getattr(cmd, field)
        if wanted is None or wanted == getattr(order, field):
            continue
        method = methods.get((kind, wanted))
        if method is None or not method.usable:
            problems[field] = [f"No usable {kind} method {wanted} in this shop."]
            continue
        payload[field] = wanted
        if kind == "payment":
            payload["payment_kind"] = method.payment_kind
    if problems:
        raise errors.InvalidChange("Unknown or unusable method.", problems)
    for field in ("bill_address", "ship_address"):
        wanted = getattr(cmd, field)
        if wanted is not None and wanted != getattr(order, field):
            payload[field] = wanted
    if not payload:
        return []
    payload["by"] = editor.role
    payload["totals"] = order.totals(fees, None, payload.get("shipping_method_id"), payload.get("payment_method_id"))
    return [Decided("OrderDetailsChanged", payload)]


def cancel(order: Order, editor: Editor, now: datetime, *, cause: str | None = None, by: str | None = None
           ) -> Decision:
    """Cancel before the close; every allocated unit goes back to stock."""
    ensure_may_change(editor)
    ensure_open(order, now)
    if order.status == "cancelled":
        raise errors.OrderNotEditable(f"Order {order.number} is already cancelled.")
    if order.status == "empty":
        raise errors.OrderNotEditable(f"Nothing was available for order {order.number}: there is nothing to cancel.")
    return [Decided("OrderCancelled", {"by": by or editor.role, "cause": cause or editor.role,
                                       "stock_delta": stock_delta(order.lines, [])})]


def resume(order: Order, editor: Editor, stock: Stock, fees: Fees, now: datetime, *, by: str | None = None
           ) -> Decision:
    """Bring a cancelled order back before the close: each line asks again for its requested quantity,
    capped to the stock there is now. Managers resume any cancelled order; a customer, when the shop lets
    customers change their orders, only one they cancelled themselves (one the shop or a change of their
    subscription cancelled stays cancelled unless the shop resumes it)."""
    ensure_may_change(editor)
    ensure_open(order, now)
    if order.status != "cancelled":
        raise errors.OrderNotEditable(f"Order {order.number} is not cancelled.")
    if editor.is_customer and order.cancel_cause != "customer":
        raise errors.ChangeNotAllowed(CANCELLED_BY_OTHERS)
    lines = []
    for line in order.lines:
        quantity = stock.cap(line.variant_id, line.requested_quantity)
        stock.take(line.variant_id, quantity)
        lines.append(replace(line, quantity=quantity))
    return [Decided("OrderResumed", {
        "by": by or editor.role, "lines": [line.to_payload() for line in lines],
        "totals": order.totals(fees, lines),
        "stock_delta": stock_delta([], lines)})]


MANAGER = Editor("manager", True)
"""The editor used for changes the platform makes on a manager's behalf (pause, skip...)."""
