"""Placing orders for due occurrences: lines from the subscription's current items at the shop's current
catalog price (``shared_events.money.unit_price``, the rule subscription-service's estimates use), quantities
capped to stock in the shop's allocation order. Pure: no I/O.

An item that cannot be had (its variant unknown, deleted, unavailable or out of stock) is replaced by its
first substitute that can (``allocation.allocate_with_substitutes``): the line is the substitute's, at the
substitute's own price, for up to the quantity asked, and names the item it stands for (``substitute_for``).
Without one, the item is kept on the order at quantity 0 (so the customer sees what could not be had). An item
of quantity 0 (subscriptions saved before such items were refused) asks for nothing and gets no line. An order
where nothing at all could be allocated is ``empty``: nothing to confirm, nothing to charge.

Each line is taxed with the shop's rate of its variant's tax category (a substitute's, its own), copied onto the
line (and the shop's setting and rates onto the order: ``TaxTerms``), so a later rate change never touches a
placed order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from order_service.domain.allocation import Claim, Pick, allocate_with_substitutes
from order_service.domain.model import UNTAXED, Fees, Line, Payload, Stock, TaxTerms, stock_delta
from shared_events import money


@dataclass(frozen=True)
class Variant:
    """A catalog variant as sold by the shop."""

    variant_id: str
    name: str
    unit_price: int
    on_hand: int | None  # None = unlimited
    sellable: bool  # available and not deleted
    tax_category: str | None = None  # None: not taxed


@dataclass(frozen=True)
class Terms:
    """What a subscription asks for, as it stands when its order is placed."""

    subscription_id: str
    customer_id: str
    created_at: datetime
    items: Sequence[Mapping[str, Any]]  # [{"variant_id", "quantity", "price_estimate", "substitutes"}]
    shipping_method_id: str
    payment_method_id: str
    payment_kind: str
    bill_address: Payload
    ship_address: Payload
    sequence: int | None = None  # the subscription's creation rank in its shop (None: created before ranks)

    @property
    def first_come_key(self) -> tuple[Any, ...]:
        """Served first: subscriptions without a rank (the oldest, created before ranks existed) by creation
        time, then ranked ones by rank; ties by subscription id."""
        if self.sequence is None:
            return (0, 0, self.created_at, self.subscription_id)
        return (1, self.sequence, self.created_at, self.subscription_id)


@dataclass(frozen=True)
class Due:
    subscription_id: str
    order_cycle_id: str
    opens_at: datetime
    closes_at: datetime
    late: bool


@dataclass
class Planned:
    """One order decided by a placement run (before it gets its id and number)."""

    due: Due
    terms: Terms
    lines: list[Line]

    @property
    def empty(self) -> bool:
        return not any(line.quantity > 0 for line in self.lines)

    @property
    def capped(self) -> bool:
        return any(line.capped for line in self.lines)


def stock_levels(catalog: Mapping[str, Variant]) -> Stock:
    return Stock({v.variant_id: v.on_hand for v in catalog.values() if v.sellable})


def first_come_order(requests: Iterable[tuple[Due, Terms]]) -> list[tuple[Due, Terms]]:
    """Subscriptions created first are served first (their creation rank in the shop, else their creation
    time); ties by subscription id (deterministic)."""
    return sorted(requests, key=lambda r: r[1].first_come_key)


def plan(requests: Iterable[tuple[Due, Terms]], catalog: Mapping[str, Variant], stock: Stock,
         policy: str, allocation: Mapping[str, Sequence[Pick]] | None = None, tax: TaxTerms = UNTAXED
         ) -> list[Planned]:
    """Decide the lines of every requested order, sharing ``stock`` by ``policy``; ``stock`` is then
    reduced by what was allocated. Orders come back in first-come order. ``tax``: the shop's setting and rates.

    ``allocation``: what was already decided per subscription (one pick per item, from ``allocation_for`` over a
    larger run these requests are part of); ``stock`` and ``policy`` then only keep the books."""
    ranked = first_come_order(requests)
    if allocation is None:
        given = allocate_with_substitutes(claims_of([terms for _, terms in ranked]), stock, policy)
    else:
        given = {(rank, index): pick for rank, (_, terms) in enumerate(ranked)
                 for index, pick in enumerate(allocation[terms.subscription_id])}
    planned = []
    for rank, (due, terms) in enumerate(ranked):
        lines = []
        for index, item in enumerate(terms.items):
            if item["quantity"] <= 0:
                continue  # asks for nothing: never a "0 x" line
            pick = given.get((rank, index)) or Pick(item["variant_id"], 0)
            lines.append(line_for(f"l-{index + 1}", item, pick, catalog, tax))
            stock.take(pick.variant_id, lines[-1].quantity)
        planned.append(Planned(due, terms, lines))
    return planned


def line_for(line_id: str, item: Mapping[str, Any], pick: Pick, catalog: Mapping[str, Variant],
             tax: TaxTerms = UNTAXED) -> Line:
    """The order line of a subscription item given ``pick``: the item's own variant at its catalog price (the
    subscription's estimate when the catalog does not know it), or the substitute placed instead at the
    substitute's own price, naming the item it stands for; taxed at ``tax``'s rate of the placed variant's
    category."""
    own = catalog.get(item["variant_id"])
    own_name = own.name if own else item["variant_id"]
    if pick.variant_id == item["variant_id"]:
        return Line(line_id=line_id, variant_id=item["variant_id"], name=own_name,
                    unit_price=money.unit_price(own.unit_price if own else None, item.get("price_estimate")) or 0,
                    requested_quantity=item["quantity"],
                    quantity=pick.units if own is not None and own.sellable else 0,
                    **tax.line_tax(own.tax_category if own else None))
    substitute = catalog[pick.variant_id]
    return Line(line_id=line_id, variant_id=substitute.variant_id, name=substitute.name,
                unit_price=money.unit_price(substitute.unit_price, None) or 0, requested_quantity=item["quantity"],
                quantity=pick.units, substitute_for={"variant_id": item["variant_id"], "name": own_name},
                **tax.line_tax(substitute.tax_category))


def claims_of(ranked: Sequence[Terms]) -> list[Claim]:
    """The claims of subscriptions given in first-come order (rank = place in that order); an item of quantity
    0 claims nothing."""
    return [Claim(rank, index, item["variant_id"], item["quantity"], tuple(item.get("substitutes") or ()))
            for rank, terms in enumerate(ranked) for index, item in enumerate(terms.items) if item["quantity"] > 0]


def allocation_for(terms: Iterable[Terms], stock: Stock, policy: str) -> dict[str, list[Pick]]:
    """What ``plan`` would allocate to each of these subscriptions if it placed them all at once, as one pick per
    item by subscription id: a run too large to hold in memory is planned in slices with this. Only the
    subscription's rank and items are needed, so the caller may pass light Terms."""
    ranked = sorted(terms, key=lambda t: t.first_come_key)
    given = allocate_with_substitutes(claims_of(ranked), stock, policy)
    return {t.subscription_id: [given.get((rank, index)) or Pick(item["variant_id"], 0)
                                for index, item in enumerate(t.items)]
            for rank, t in enumerate(ranked)}


def catalog_wanted(requests: Iterable[Terms]) -> set[str]:
    """Every variant these subscriptions may be given: their items' and their substitutes'."""
    return {v for terms in requests for item in terms.items
            for v in (item["variant_id"], *(item.get("substitutes") or ()))}


def placed_payload(order: Planned, *, order_id: str, number: str, shop_id: str, currency: str, fees: Fees,
                   policy: str, late: bool, actor: Payload, tax: TaxTerms = UNTAXED) -> Payload:
    """The OrderPlaced payload of a planned order (status empty when nothing could be allocated), with the
    shop's tax setting and rates (``tax``) copied onto it."""
    terms, due = order.terms, order.due
    totals = fees.totals(order.lines, terms.shipping_method_id, terms.payment_method_id, tax)
    return {
        "order_id": order_id, "shop_id": shop_id, "subscription_id": terms.subscription_id,
        "order_cycle_id": due.order_cycle_id, "customer_id": terms.customer_id,
        "number": number, "status": "empty" if order.empty else "placed", "currency": currency,
        "lines": [line.to_payload() for line in order.lines], "totals": totals,
        "shipping_method_id": terms.shipping_method_id, "payment_method_id": terms.payment_method_id,
        "payment_kind": terms.payment_kind, "bill_address": terms.bill_address, "ship_address": terms.ship_address,
        "opens_at": due.opens_at, "closes_at": due.closes_at, "late": late, "allocation_policy": policy,
        "stock_delta": stock_delta([], order.lines), "actor": actor, "reason": None,
        "prices_include_tax": tax.prices_include_tax, "tax_rates": tax.rates_payload(),
    }


def confirmation(order_total: int, status: str) -> tuple[bool, int]:
    """(payment required, amount) of an order at close: nothing is charged for an empty or zero order."""
    required = status in ("placed", "confirmed") and order_total > 0
    return required, order_total if required else 0
