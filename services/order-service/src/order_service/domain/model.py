"""The order as the domain sees it: lines, fees, totals and the stock it may still allocate. Pure: no I/O.

Money is integer minor units of the shop's currency; totals always come from
``shared_events.money.lines_totals`` (the platform's one fee and tax rule). An order keeps the shop's tax
setting and rates as they were at its placement (``TaxTerms``): a later rate change never touches it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared_events.money import lines_totals, tax_of, tax_rate

SYSTEM_ACTOR = {"type": "system", "id": "order-service"}
TOTAL_KEYS = ("item_total", "shipping_fee", "payment_fee", "total", "tax_total", "shipping_tax", "payment_tax")
"""The keys of an order's totals (``shared_events.money.order_totals``), and the orders table's columns of them."""

Payload = dict[str, Any]


def next_line_id(used: set[str]) -> str:
    """The id of a line added to an order whose lines have the ids ``used``: ``l-N``, the first N from one more
    than their number that none of them has."""
    n = len(used) + 1
    while f"l-{n}" in used:
        n += 1
    return f"l-{n}"


@dataclass(frozen=True)
class TaxTerms:
    """Whether prices include tax, and the rate (basis points) of each tax category: the shop's, copied onto
    each order at its placement."""

    prices_include_tax: bool = False
    rates: Mapping[str, int] = field(default_factory=dict)

    def rate(self, category: str | None) -> int:
        return tax_rate(self.rates, category)

    def line_tax(self, category: str | None) -> dict[str, Any]:
        """The tax fields of a new line of this category (``Line(**...)``)."""
        return {"tax_category": category, "tax_rate_bp": self.rate(category),
                "prices_include_tax": self.prices_include_tax}

    def rates_payload(self) -> list[dict[str, Any]]:
        return [{"category": c, "rate_bp": r} for c, r in sorted(self.rates.items())]

    @classmethod
    def of(cls, prices_include_tax: bool | None, rates: Iterable[Mapping[str, Any]] | None) -> TaxTerms:
        """From a shop's (or an order's) setting and its [{category, rate_bp}]."""
        return cls(bool(prices_include_tax), {r["category"]: r["rate_bp"] for r in rates or []})


UNTAXED = TaxTerms()


@dataclass(frozen=True)
class Fee:
    """A shipping or payment method's fee: flat part + basis points of its base, and its tax category."""

    flat: int = 0
    percent_bp: int = 0
    tax_category: str | None = None

    def as_tuple(self) -> tuple[int, int]:
        return (self.flat, self.percent_bp)


NO_FEE = Fee()


@dataclass(frozen=True)
class Fees:
    """The fees of a shop's methods by id; an unknown method costs nothing."""

    shipping: Mapping[str, Fee] = field(default_factory=dict)
    payment: Mapping[str, Fee] = field(default_factory=dict)

    def totals(self, lines: Iterable[Line], shipping_method_id: str, payment_method_id: str,
               tax: TaxTerms = UNTAXED) -> dict[str, int]:
        """Each line taxed at the rate it carries, each fee at ``tax``'s rate of its method's category."""
        shipping = self.shipping.get(shipping_method_id, NO_FEE)
        payment = self.payment.get(payment_method_id, NO_FEE)
        return lines_totals([(line.total, line.tax_rate_bp) for line in lines], shipping.as_tuple(),
                            payment.as_tuple(), shipping_tax_bp=tax.rate(shipping.tax_category),
                            payment_tax_bp=tax.rate(payment.tax_category),
                            prices_include_tax=tax.prices_include_tax)


@dataclass
class Line:
    line_id: str
    variant_id: str
    name: str
    unit_price: int
    requested_quantity: int  # what was asked for (the subscription, or whoever edited the line by hand)
    quantity: int  # what is allocated (capped to stock)
    edited_by: str | None = None
    substitute_for: Payload | None = None  # {"variant_id", "name"} of the item this line was placed instead of
    tax_category: str | None = None
    tax_rate_bp: int = 0  # copied from the shop's rates when the line was placed or added
    prices_include_tax: bool = False  # the order's setting

    @property
    def total(self) -> int:
        return self.unit_price * self.quantity

    @property
    def tax(self) -> int:
        return tax_of(self.total, self.tax_rate_bp, self.prices_include_tax)

    @property
    def capped(self) -> bool:
        return self.quantity < self.requested_quantity

    def to_payload(self) -> Payload:
        return {"line_id": self.line_id, "variant_id": self.variant_id, "name": self.name,
                "unit_price": self.unit_price, "requested_quantity": self.requested_quantity,
                "quantity": self.quantity, "total": self.total, "substitute_for": self.substitute_for,
                "tax": self.tax, "tax_category": self.tax_category, "tax_rate_bp": self.tax_rate_bp}


@dataclass
class Order:
    """An order's current state, as loaded for a decision."""

    order_id: str
    number: str
    shop_id: str
    subscription_id: str
    order_cycle_id: str
    customer_id: str
    status: str  # placed | empty | cancelled | confirmed
    currency: str
    lines: list[Line]
    shipping_method_id: str
    payment_method_id: str
    payment_kind: str
    bill_address: Payload
    ship_address: Payload
    closes_at: datetime
    cycle_closed: bool
    version: int
    total: int = 0
    cancel_cause: str | None = None  # who or what cancelled it: customer, manager, subscription_paused...
    tax: TaxTerms = UNTAXED  # as copied at placement

    def totals(self, fees: Fees, lines: Iterable[Line] | None = None, shipping_method_id: str | None = None,
               payment_method_id: str | None = None) -> dict[str, int]:
        """The totals of this order (or of these lines / methods instead of its own), taxed by its terms."""
        return fees.totals(self.lines if lines is None else lines, shipping_method_id or self.shipping_method_id,
                           payment_method_id or self.payment_method_id, self.tax)

    def ids(self) -> Payload:
        return {"order_id": self.order_id, "shop_id": self.shop_id, "subscription_id": self.subscription_id,
                "order_cycle_id": self.order_cycle_id, "customer_id": self.customer_id}

    def line(self, line_id: str) -> Line | None:
        return next((line for line in self.lines if line.line_id == line_id), None)

    def line_for_variant(self, variant_id: str) -> Line | None:
        return next((line for line in self.lines if line.variant_id == variant_id), None)

    def next_line_id(self) -> str:
        return next_line_id({line.line_id for line in self.lines})

    def is_closed(self, now: datetime) -> bool:
        """Closed once the scheduler said so, the close time has passed, or the order is confirmed."""
        return self.status == "confirmed" or self.cycle_closed or now >= self.closes_at


class Stock:
    """Units this service may still allocate, per variant. ``None`` = unlimited; a variant that is
    unknown, unavailable or deleted has none. ``take`` with a negative number gives units back."""

    def __init__(self, levels: Mapping[str, int | None]) -> None:
        self._levels: dict[str, int | None] = dict(levels)

    def available(self, variant_id: str) -> int | None:
        if variant_id not in self._levels:
            return 0
        level = self._levels[variant_id]
        return None if level is None else max(level, 0)

    def cap(self, variant_id: str, wanted: int) -> int:
        available = self.available(variant_id)
        return wanted if available is None else max(0, min(wanted, available))

    def take(self, variant_id: str, units: int) -> None:
        level = self._levels.get(variant_id)
        if level is not None:
            self._levels[variant_id] = level - units

    def copy(self) -> Stock:
        return Stock(self._levels)


def stock_delta(before: Iterable[Line], after: Iterable[Line]) -> list[Payload]:
    """Per variant: units allocated more (positive) or released (negative) going from ``before`` to
    ``after``; variants whose allocation did not change are left out. Sorted by variant id."""
    held: dict[str, int] = {}
    for line in before:
        held[line.variant_id] = held.get(line.variant_id, 0) - line.quantity
    for line in after:
        held[line.variant_id] = held.get(line.variant_id, 0) + line.quantity
    return [{"variant_id": v, "delta": d} for v, d in sorted(held.items()) if d]
