"""A subscription edit flowing into its open orders (reference section 8, checklist 29-33).

For each order of the subscription still open:
- an item whose quantity changed: the line is updated only if it still asks for the subscription's
  previous quantity (otherwise it was edited by hand: an issue), re-allocated within stock
  (capped: an issue); a line no longer on the order is an issue;
- a new item: a line is added, capped to stock (an issue when short or out of stock); an item the
  order already has (added by hand) is an issue;
- a removed item: its line is removed, never the last line with something on it (it goes to 0);
- the shipping or payment method, an address: changed only if the order still has the previous
  one (otherwise an issue).
Every change carries the totals after it; every skipped propagation is an "update issue" the
manager can read. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from order_service.domain.model import Fees, Line, Order, Payload, Stock, TaxTerms, next_line_id, stock_delta
from order_service.domain.placement import Variant
from shared_events.decided import Decided


@dataclass
class Propagation:
    events: list[Decided] = field(default_factory=list)
    issues: list[Payload] = field(default_factory=list)


def _quantities(items: Sequence[Mapping[str, Any]] | None) -> dict[str, int]:
    out: dict[str, int] = {}
    for item in items or []:
        out[item["variant_id"]] = out.get(item["variant_id"], 0) + item["quantity"]
    return out


def _issue(kind: str, message: str, variant_id: str | None = None) -> Payload:
    return {"kind": kind, "variant_id": variant_id, "message": message}


def _shortage(name: str, variant_id: str, wanted: int, got: int) -> Payload:
    if got == 0:
        return _issue("out_of_stock", f"{name}: out of stock, none of the {wanted} asked for could be allocated.",
                      variant_id)
    return _issue("insufficient_stock", f"{name}: insufficient stock, only {got} of the {wanted} asked for "
                                        "could be allocated.", variant_id)


def propagate(order: Order, changes: Mapping[str, Any], previous: Mapping[str, Any],
              catalog: Mapping[str, Variant], stock: Stock, fees: Fees) -> Propagation:
    """The events and issues of applying a subscription change to one open order.
    ``stock`` is reduced by what is allocated."""
    out = Propagation()
    lines = [replace(line) for line in order.lines]
    details = {"shipping_method_id": order.shipping_method_id, "payment_method_id": order.payment_method_id}

    def totals() -> dict[str, int]:
        return order.totals(fees, lines, details["shipping_method_id"], details["payment_method_id"])

    if "items" in changes:
        _propagate_items(out, lines, _quantities(previous.get("items")), _quantities(changes["items"]),
                         catalog, stock, totals, order.tax)
    for field_name, kind in (("shipping_method_id", "shipping_method_hand_edited"),
                             ("payment_method_id", "payment_method_hand_edited")):
        if field_name not in changes:
            continue
        new, old, current = changes[field_name], previous.get(field_name), details[field_name]
        if current == new:
            continue
        if current != old:
            what = "shipping" if field_name.startswith("shipping") else "payment"
            out.issues.append(_issue(kind, f"The {what} method was changed by hand on this order, so the "
                                           f"subscription's new {what} method was not applied."))
            continue
        details[field_name] = new
        payload: Payload = {field_name: new, "by": "subscription"}
        if field_name == "payment_method_id" and changes.get("payment_kind"):
            payload["payment_kind"] = changes["payment_kind"]
        payload["totals"] = totals()
        out.events.append(Decided("OrderDetailsChanged", payload))
    for field_name, label in (("bill_address", "billing"), ("ship_address", "shipping")):
        if field_name not in changes:
            continue
        new, old, current = changes[field_name], previous.get(field_name), getattr(order, field_name)
        if current == new:
            continue
        if current != old:
            out.issues.append(_issue("address_hand_edited", f"The {label} address was changed by hand on this "
                                                            f"order, so the subscription's new {label} address "
                                                            "was not applied."))
            continue
        out.events.append(Decided("OrderDetailsChanged",
                                  {field_name: new, "by": "subscription", "totals": totals()}))
    return out


def _propagate_items(out: Propagation, lines: list[Line], before: dict[str, int], after: dict[str, int],
                     catalog: Mapping[str, Variant], stock: Stock, totals: Any, tax: TaxTerms) -> None:
    def find(variant_id: str) -> Line | None:
        """The line of a subscription item: its own variant's, or the substitute placed instead of it."""
        return next((line for line in lines if line.variant_id == variant_id), None) or next(
            (line for line in lines if (line.substitute_for or {}).get("variant_id") == variant_id), None)

    for variant_id, wanted in after.items():  # changed quantities
        if variant_id not in before or before[variant_id] == wanted:
            continue
        line = find(variant_id)
        name = line.name if line else (catalog[variant_id].name if variant_id in catalog else variant_id)
        if line is None:
            out.issues.append(_issue("line_missing", f"{name}: no longer on this order, so the subscription's new "
                                                     f"quantity ({wanted}) was not applied.", variant_id))
            continue
        if line.requested_quantity != before[variant_id]:
            out.issues.append(_issue("line_hand_edited", f"{name}: the quantity was changed by hand on this order, "
                                                         f"so the subscription's new quantity ({wanted}) was not "
                                                         "applied.", variant_id))
            continue
        held = line.variant_id  # the item's own variant, or its substitute on this order
        variant = catalog.get(held)
        if wanted <= line.quantity:
            got = wanted
        elif variant is not None and variant.sellable:
            got = line.quantity + stock.cap(held, wanted - line.quantity)
        else:
            got = line.quantity  # no longer sold: what it holds stays, nothing more
        changed = replace(line, quantity=got, requested_quantity=wanted, edited_by="subscription")
        stock.take(held, got - line.quantity)
        lines[lines.index(line)] = changed
        if got < wanted:
            out.issues.append(_shortage(name, held, wanted, got))
        out.events.append(Decided("OrderLineChanged", {
            "line_id": line.line_id, "variant_id": held, "quantity": got, "previous_quantity": line.quantity,
            "requested_quantity": wanted, "by": "subscription", "tax": changed.tax, "totals": totals(),
            "stock_delta": stock_delta([line], [changed])}))

    for variant_id, wanted in after.items():  # new items
        if variant_id in before:
            continue
        variant = catalog.get(variant_id)
        name = variant.name if variant else variant_id
        if find(variant_id) is not None:
            out.issues.append(_issue("line_hand_edited", f"{name}: already on this order (added by hand), so the "
                                                         "subscription's new item was not added.", variant_id))
            continue
        got = stock.cap(variant_id, wanted) if variant is not None and variant.sellable else 0
        stock.take(variant_id, got)
        line = Line(next_line_id({line.line_id for line in lines}), variant_id, name,
                    variant.unit_price if variant else 0, wanted, got, "subscription",
                    **tax.line_tax(variant.tax_category if variant else None))
        lines.append(line)
        if got < wanted:
            out.issues.append(_shortage(name, variant_id, wanted, got))
        out.events.append(Decided("OrderLineAdded", {"line": line.to_payload(), "by": "subscription",
                                                     "totals": totals(), "stock_delta": stock_delta([], [line])}))

    for variant_id in before:  # removed items
        if variant_id in after:
            continue
        line = find(variant_id)
        if line is None:
            continue
        rest = [other for other in lines if other is not line]
        if any(other.quantity > 0 for other in rest):
            lines.remove(line)
            out.events.append(Decided("OrderLineRemoved", {"line_id": line.line_id, "variant_id": line.variant_id,
                                                           "by": "subscription", "totals": totals(),
                                                           "stock_delta": stock_delta([line], [])}))
        elif line.quantity or line.requested_quantity:
            # the last line with anything on it is never removed (that would be a cancel): it goes to 0
            emptied = replace(line, quantity=0, requested_quantity=0, edited_by="subscription")
            stock.take(line.variant_id, -line.quantity)
            lines[lines.index(line)] = emptied
            out.events.append(Decided("OrderLineChanged", {
                "line_id": line.line_id, "variant_id": line.variant_id, "quantity": 0,
                "previous_quantity": line.quantity,
                "requested_quantity": 0, "by": "subscription", "tax": 0, "totals": totals(),
                "stock_delta": stock_delta([line], [emptied])}))
