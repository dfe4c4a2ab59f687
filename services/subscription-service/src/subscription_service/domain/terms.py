"""A subscription's editable terms, as the contract's SubscriptionTerms (items, methods, addresses, dates,
estimates)."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import Any

TERM_NAMES = ("items", "shipping_method_id", "payment_method_id", "payment_kind", "bill_address", "ship_address",
              "begins_at", "ends_at", "shipping_fee_estimate", "payment_fee_estimate")
EDITABLE = ("items", "shipping_method_id", "payment_method_id", "bill_address", "ship_address", "begins_at",
            "ends_at")


@dataclass(frozen=True)
class Item:
    variant_id: str
    quantity: int
    price_estimate: int | None = None
    substitutes: tuple[str, ...] = ()  # variants to place instead when this one cannot be had, preferred first

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Item:
        return cls(data["variant_id"], data["quantity"], data.get("price_estimate"),
                   tuple(data.get("substitutes") or ()))

    def data(self) -> dict[str, Any]:
        return {"variant_id": self.variant_id, "quantity": self.quantity, "price_estimate": self.price_estimate,
                "substitutes": list(self.substitutes)}


@dataclass(frozen=True)
class Terms:
    items: tuple[Item, ...]
    shipping_method_id: str | None
    payment_method_id: str | None
    payment_kind: str | None
    bill_address: dict[str, Any] | None
    ship_address: dict[str, Any] | None
    begins_at: datetime | None
    ends_at: datetime | None = None
    shipping_fee_estimate: int | None = None
    payment_fee_estimate: int | None = None
    # taken with the fees' estimates, never recorded (not in TERM_NAMES): the estimate's tax (all of it, and the
    # fees' parts of it), and whether the shop's prices include it (else the total adds it)
    tax_estimate: int | None = None
    shipping_tax_estimate: int | None = None
    payment_tax_estimate: int | None = None
    tax_included: bool = True

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Terms:
        items = tuple(Item.from_data(i) for i in data.get("items") or [])
        known: dict[str, Any] = {n: data.get(n) for n in TERM_NAMES if n != "items"}
        return cls(items=items, **known)

    def data(self) -> dict[str, Any]:
        out: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self) if f.name in TERM_NAMES}
        out["items"] = [i.data() for i in self.items]
        return out

    def merged(self, changes: dict[str, Any]) -> Terms:
        """These terms with some fields replaced (``items`` given as dicts)."""
        plain = {k: v for k, v in changes.items() if k in TERM_NAMES and k != "items"}
        t = replace(self, **plain)
        if "items" in changes:
            t = replace(t, items=tuple(Item.from_data(i) for i in changes["items"]))
        return t

    def item_total(self) -> int | None:
        prices = [i.price_estimate for i in self.items]
        if any(p is None for p in prices):
            return None
        return sum((p or 0) * i.quantity for p, i in zip(prices, self.items, strict=True))

    def estimated_total(self) -> int | None:
        items = self.item_total()
        if items is None or self.shipping_fee_estimate is None or self.payment_fee_estimate is None:
            return None
        added = 0 if self.tax_included or self.tax_estimate is None else self.tax_estimate
        return items + self.shipping_fee_estimate + self.payment_fee_estimate + added


def differences(before: Terms, after: Terms) -> tuple[dict[str, Any], dict[str, Any]]:
    """(changes, previous): only the terms whose value differs."""
    a, b = before.data(), after.data()
    changed = [n for n in TERM_NAMES if a[n] != b[n]]
    return {n: b[n] for n in changed}, {n: a[n] for n in changed}


def only_substitutes_differ(before: tuple[Item, ...], after: tuple[Item, ...]) -> bool:
    """The same products in the same quantities and order: at most their substitutes changed (what a customer may
    change on their own subscription)."""
    return [(i.variant_id, i.quantity) for i in before] == [(i.variant_id, i.quantity) for i in after]
