"""Shops (created by a platform admin), their settings and their shipping and payment methods."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from itertools import pairwise
from typing import Any

from shared_events.contracts.shops import default_payment_retry
from shared_events.money import tax_rate
from subscription_service.domain.common import By, Decided
from subscription_service.domain.errors import Conflict, Invalid, NotFound, add_error
from subscription_service.domain.standards import currency_error, timezone_error

REQUIRED_SETTINGS = ("name", "timezone", "currency", "contact_email")
TAX_DEFAULTS: dict[str, Any] = {
    "prices_include_tax": False,  # catalog prices and fees are before tax; orders add it
    "tax_rates": [],  # [{category, rate_bp}]: no rates, nothing is taxed (every shop created before tax)
}
DEFAULT_SETTINGS: dict[str, Any] = {
    "locale": "en",
    "owner_email": None,
    "subscriptions_enabled": False,  # reference checklist 1: disabled by default
    "allow_order_changes": False,
    "allow_customer_skip": False,
    "allocation_policy": "first_come",
    "late_placement": "while_open",
    "payment_retry": default_payment_retry(),  # 24 h then 72 h, 3 attempts: billing's schedule
    "stripe_account_id": None,
    "order_reminder_hours_before_close": None,  # the cut-off reminder: off by default
    "invoices_enabled": False,  # receipts only; true: numbered invoices (order-service)
    "attach_invoice_to_email": False,  # the receipt's or invoice's PDF attached to the email telling it is paid
    **TAX_DEFAULTS,
}
SETTING_NAMES = (*REQUIRED_SETTINGS, *DEFAULT_SETTINGS)
METHOD_FIELDS = ("name", "description", "fee_flat", "fee_percent_bp", "active", "tax_category")
SHIPPING_FIELDS = (*METHOD_FIELDS, "pickup")
PAYMENT_FIELDS = (*METHOD_FIELDS, "kind")
ALLOWED_PAYMENT_KINDS = ("cash", "stripe")  # reference rule 4: Cash/Check or Stripe only


@dataclass(frozen=True)
class Method:
    """A shipping method (``pickup``) or a payment method (``kind``) with its fee."""

    method_id: str
    name: str
    fee_flat: int
    fee_percent_bp: int
    active: bool = True
    description: str | None = None
    pickup: bool | None = None
    kind: str | None = None
    removed: bool = False
    tax_category: str | None = None  # one of the shop's tax rates; None: the fee is not taxed

    def data(self, names: tuple[str, ...]) -> dict[str, Any]:
        return {n: getattr(self, n) for n in names}


@dataclass(frozen=True)
class Shop:
    shop_id: str
    version: int
    settings: dict[str, Any]
    shipping_methods: dict[str, Method] = field(default_factory=dict)
    payment_methods: dict[str, Method] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return str(self.settings.get("name", ""))

    @property
    def currency(self) -> str:
        return str(self.settings.get("currency", ""))

    @property
    def timezone(self) -> str:
        return str(self.settings.get("timezone", "UTC"))

    @property
    def prices_include_tax(self) -> bool:
        return bool(self.settings.get("prices_include_tax", TAX_DEFAULTS["prices_include_tax"]))

    @property
    def tax_rates(self) -> dict[str, int]:
        return {r["category"]: r["rate_bp"] for r in self.settings.get("tax_rates") or []}

    def tax_rate(self, category: str | None) -> int:
        """The shop's rate of a tax category in basis points (0: no category, or one without a rate)."""
        return tax_rate(self.tax_rates, category)

    def methods_taxed_as(self, categories: set[str]) -> list[Method]:
        """The methods (not removed) whose fee is taxed in one of these categories."""
        return [m for m in (*self.shipping_methods.values(), *self.payment_methods.values())
                if not m.removed and m.tax_category in categories]

    def usable_shipping(self, method_id: str | None) -> Method | None:
        m = self.shipping_methods.get(method_id or "")
        return m if m is not None and m.active and not m.removed else None

    def usable_payment(self, method_id: str | None) -> Method | None:
        m = self.payment_methods.get(method_id or "")
        return m if m is not None and m.active and not m.removed else None


def settings_errors(settings: dict[str, Any], on: date) -> dict[str, list[str]]:
    """Rules that a schema cannot express: names from the world's lists (domain.standards), rules across fields.
    ``on``: the day whose list of currencies in use applies."""
    errors: dict[str, list[str]] = {}
    tz = settings.get("timezone")
    if tz and (why := timezone_error(tz)):
        add_error(errors, "timezone", why)
    currency = settings.get("currency")
    if currency and (why := currency_error(currency, on)):
        add_error(errors, "currency", why)
    retry = settings.get("payment_retry")
    if retry is not None:
        delays, attempts = retry.get("delays_hours", []), retry.get("max_attempts", 1)
        if len(delays) != attempts - 1:
            add_error(errors, "payment_retry.delays_hours",
                      f"Give one delay per retry: {attempts - 1} for max_attempts={attempts}.")
        elif any(b <= a for a, b in pairwise(delays)):
            add_error(errors, "payment_retry.delays_hours", "Delays must increase.")
    seen: set[str] = set()
    for n, rate in enumerate(settings.get("tax_rates") or []):
        if rate["category"] in seen:
            add_error(errors, f"tax_rates.{n}.category", f"{rate['category']} already has a rate.")
        seen.add(rate["category"])
    return errors


def create_shop(shop_id: str, settings: dict[str, Any], by: By) -> list[Decided]:
    full = {**DEFAULT_SETTINGS, **settings}
    errors = settings_errors(full, by.now.date())
    for name in REQUIRED_SETTINGS:
        if not full.get(name):
            add_error(errors, name, "Missing data for required field.")
    if errors:
        raise Invalid(errors)
    return [Decided("ShopCreated", by.stamp({"shop_id": shop_id, "settings": full}))]


def update_shop(shop: Shop, changes: dict[str, Any], by: By, *, has_subscriptions: bool) -> list[Decided]:
    """Only the settings that really change make the event; no change, no event."""
    current = {**TAX_DEFAULTS, **shop.settings}  # a shop created before tax has the tax defaults
    changed = {k: v for k, v in changes.items() if current.get(k) != v}
    if not changed:
        return []
    errors = settings_errors(changed, by.now.date())
    for name in REQUIRED_SETTINGS:
        if name in changed and not changed[name]:
            add_error(errors, name, "May not be empty.")
    if "tax_rates" in changed:
        kept = {r["category"] for r in changed["tax_rates"]}
        for m in shop.methods_taxed_as(set(shop.tax_rates) - kept):
            add_error(errors, "tax_rates", f"{m.tax_category} is the tax category of the method {m.name}: change "
                                           "the method first.")
    if errors:
        raise Invalid(errors)
    if "currency" in changed and has_subscriptions:
        raise Conflict("The currency cannot change once the shop has subscriptions: their prices are in "
                       f"{shop.currency}.", {"currency": ["The shop already has subscriptions."]})
    previous = {k: current.get(k) for k in changed}
    return [Decided("ShopUpdated", by.stamp({"shop_id": shop.shop_id, "changes": changed, "previous": previous}))]


def _methods(shop: Shop, kind: str) -> dict[str, Method]:
    return shop.shipping_methods if kind == "shipping" else shop.payment_methods


def _event_names(kind: str) -> tuple[str, str, tuple[str, ...]]:
    if kind == "shipping":
        return "ShippingMethodSaved", "ShippingMethodRemoved", SHIPPING_FIELDS
    return "PaymentMethodSaved", "PaymentMethodRemoved", PAYMENT_FIELDS


def method_of(shop: Shop, kind: str, method_id: str) -> Method:
    m = _methods(shop, kind).get(method_id)
    if m is None or m.removed:
        raise NotFound(f"No such {kind} method.")
    return m


def save_method(shop: Shop, kind: str, method_id: str, data: dict[str, Any], by: By, *,
                new: bool) -> list[Decided]:
    """Add a method (``new``) or change some of its fields; the event always carries the whole method."""
    saved, _, names = _event_names(kind)
    base: dict[str, Any] = {"description": None, "active": True, "tax_category": None}
    if kind == "shipping":
        base["pickup"] = False
    if not new:
        current = method_of(shop, kind, method_id)
        base = current.data(names)
    full = {**base, **data}
    errors: dict[str, list[str]] = {}
    for name in names:
        if full.get(name) is None and name not in ("description", "tax_category"):
            add_error(errors, name, "Missing data for required field.")
    if kind == "payment" and full.get("kind") not in ALLOWED_PAYMENT_KINDS:
        add_error(errors, "kind", "Must be a Cash or Stripe method.")
    category = full.get("tax_category")
    if category is not None and category not in shop.tax_rates:
        add_error(errors, "tax_category", f"{shop.name} has no tax rate for {category}: add it to the shop's "
                                          "tax rates first.")
    if errors:
        raise Invalid(errors)
    if not new and full == base:
        return []
    payload = {"shop_id": shop.shop_id, "method_id": method_id, **{n: full[n] for n in names}}
    return [Decided(saved, by.stamp(payload))]


def remove_method(shop: Shop, kind: str, method_id: str, by: By) -> list[Decided]:
    """A removed method can no longer be chosen; subscriptions that use it keep it until edited."""
    _, removed, _ = _event_names(kind)
    method_of(shop, kind, method_id)
    return [Decided(removed, by.stamp({"shop_id": shop.shop_id, "method_id": method_id}))]
