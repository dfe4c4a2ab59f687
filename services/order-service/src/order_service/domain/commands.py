"""What people ask of an order (imperative names; each is decided by a function of domain.editing)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ChangeLineQuantity:
    shop_id: str
    order_id: str
    line_id: str
    quantity: int


@dataclass(frozen=True)
class AddLine:
    shop_id: str
    order_id: str
    variant_id: str
    quantity: int


@dataclass(frozen=True)
class RemoveLine:
    shop_id: str
    order_id: str
    line_id: str


@dataclass(frozen=True)
class ChangeDetails:
    shop_id: str
    order_id: str
    shipping_method_id: str | None = None
    payment_method_id: str | None = None
    bill_address: dict[str, Any] | None = None
    ship_address: dict[str, Any] | None = None


@dataclass(frozen=True)
class CancelOrder:
    shop_id: str
    order_id: str


@dataclass(frozen=True)
class ResumeOrder:
    shop_id: str
    order_id: str
