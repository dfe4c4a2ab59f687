"""Every validation rule of a subscription (reference section 9), field by field, and its estimates.

Runs on create, on every edit and on unpause (reference rule 14); pause and cancel skip it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared_events.money import lines_totals, unit_price
from subscription_service.domain.customers import Customer
from subscription_service.domain.cycles import OrderCycle
from subscription_service.domain.errors import add_error
from subscription_service.domain.schedules import Schedule
from subscription_service.domain.shops import ALLOWED_PAYMENT_KINDS, Shop
from subscription_service.domain.terms import Item, Terms

MAX_ITEM_TOTAL = 10**12  # minor units: far beyond any real order, far below what the stores can hold
REQUIRED = ("customer_id", "schedule_id", "shipping_method_id", "payment_method_id", "bill_address", "ship_address",
            "begins_at")


@dataclass(frozen=True)
class Variant:
    """A catalog variant as this shop sells it (projected from catalog.events)."""

    variant_id: str
    product_name: str
    variant_name: str | None
    unit_price: int
    currency: str
    available: bool = True
    deleted: bool = False
    tax_category: str | None = None  # None: not taxed

    @property
    def name(self) -> str:
        return f"{self.product_name} - {self.variant_name}" if self.variant_name else self.product_name


@dataclass(frozen=True)
class Context:
    """What the rules look at besides the subscription itself."""

    shop: Shop
    customer: Customer | None
    schedule: Schedule | None
    cycles: tuple[OrderCycle, ...] = ()  # the schedule's cycles
    variants: dict[str, Variant] = field(default_factory=dict)
    now: datetime | None = None


@dataclass(frozen=True)
class Draft:
    """A subscription as asked for: who, on which schedule, and its terms."""

    customer_id: str | None
    schedule_id: str | None
    terms: Terms


def validate(ctx: Context, draft: Draft, before: tuple[Item, ...] = ()) -> tuple[dict[str, list[str]], list[str]]:
    """(errors by field, warnings). No errors = the subscription may be saved. ``before``: the items as saved (none
    on create): a line of quantity 0 saved before 0 was refused may stay as it is, never come anew."""
    errors: dict[str, list[str]] = {}
    shop, t = ctx.shop, draft.terms
    values: dict[str, Any] = {"customer_id": draft.customer_id, "schedule_id": draft.schedule_id,
                              **{n: getattr(t, n) for n in REQUIRED[2:]}}
    for name in REQUIRED:
        if values[name] in (None, "", {}):
            add_error(errors, name, "Missing data for required field.")
    c = ctx.customer
    if draft.customer_id and (c is None or c.deleted or c.shop_id != shop.shop_id):
        add_error(errors, "customer_id", f"Does not belong to {shop.name}.")
    s = ctx.schedule
    if draft.schedule_id and (s is None or s.deleted or s.shop_id != shop.shop_id or not s.order_cycle_ids):
        add_error(errors, "schedule_id", f"Is not coordinated by {shop.name}.")
    if t.shipping_method_id and shop.usable_shipping(t.shipping_method_id) is None:
        add_error(errors, "shipping_method_id", f"Is not available to {shop.name}.")
    payment = shop.usable_payment(t.payment_method_id)
    if t.payment_method_id and payment is None:
        add_error(errors, "payment_method_id", f"Is not available to {shop.name}.")
    if payment is not None and payment.kind not in ALLOWED_PAYMENT_KINDS:
        add_error(errors, "payment_method_id", "Must be a Cash or Stripe method.")
    if payment is not None and payment.kind == "stripe" and c is not None and "customer_id" not in errors:
        if not c.allow_charges:
            add_error(errors, "payment_method_id", "Credit card charges are not allowed by this customer.")
        if c.card is None:
            add_error(errors, "payment_method_id", "No default card available for this customer.")
    if t.begins_at and t.ends_at and t.ends_at <= t.begins_at:
        add_error(errors, "ends_at", "Must be after begins at.")
    _item_errors(ctx, t.items, before, errors)
    return errors, warnings(ctx, draft) if not errors else []


def _item_errors(ctx: Context, items: tuple[Item, ...], before: tuple[Item, ...],
                 errors: dict[str, list[str]]) -> None:
    kept_at_zero = {i.variant_id for i in before if i.quantity == 0}
    seen: set[str] = set()
    for n, item in enumerate(items):
        v = ctx.variants.get(item.variant_id)
        label = v.name if v else item.variant_id
        if item.quantity < 0:
            add_error(errors, f"items.{n}.quantity", "Must not be negative.")
        elif item.quantity == 0 and item.variant_id not in kept_at_zero:  # new, or its quantity changed to 0
            add_error(errors, f"items.{n}.quantity", "Must be at least 1.")
        if v is None or v.deleted:
            add_error(errors, f"items.{n}.variant_id", f"{label} is not available from {ctx.shop.name}.")
        elif v.currency != ctx.shop.currency:
            add_error(errors, f"items.{n}.variant_id",
                      f"{label} is priced in {v.currency}, not in the shop's {ctx.shop.currency}.")
        if v is not None and v.unit_price * item.quantity > MAX_ITEM_TOTAL:
            add_error(errors, f"items.{n}.quantity", "The estimated total of this line is too large.")
        if item.variant_id in seen:
            add_error(errors, f"items.{n}.variant_id",
                      f"{label} has already been added; change its quantity instead.")
        seen.add(item.variant_id)
        _substitute_errors(ctx, item, f"items.{n}.substitutes", errors)
    if not any(i.quantity > 0 for i in items) and not any(k.endswith(".quantity") for k in errors):
        add_error(errors, "items", "Please add at least one product.")  # unless a line already says so


MAX_SUBSTITUTES = 3


def _substitute_errors(ctx: Context, item: Item, name: str, errors: dict[str, list[str]]) -> None:
    """An item's substitutes: products of the shop, in its currency, at most three, neither the item's own product
    nor the same one twice."""
    if len(item.substitutes) > MAX_SUBSTITUTES:
        add_error(errors, name, f"At most {MAX_SUBSTITUTES} substitutes.")
    for k, variant_id in enumerate(item.substitutes):
        v = ctx.variants.get(variant_id)
        label = v.name if v else variant_id
        if variant_id == item.variant_id:
            add_error(errors, f"{name}.{k}", "A product cannot be its own substitute.")
        elif variant_id in item.substitutes[:k]:
            add_error(errors, f"{name}.{k}", f"{label} is already a substitute of this product.")
        elif v is None or v.deleted:
            add_error(errors, f"{name}.{k}", f"{label} is not available from {ctx.shop.name}.")
        elif v.currency != ctx.shop.currency:
            add_error(errors, f"{name}.{k}",
                      f"{label} is priced in {v.currency}, not in the shop's {ctx.shop.currency}.")


def warnings(ctx: Context, draft: Draft) -> list[str]:
    """Things worth knowing that do not stop a save (reference rule 24, and the shop's kill switch)."""
    out = []
    if not ctx.shop.settings.get("subscriptions_enabled"):
        out.append(f"Subscriptions are disabled for {ctx.shop.name}: no order is placed until they are enabled.")
    for item in draft.terms.items:
        v = ctx.variants.get(item.variant_id)
        if item.quantity == 0:  # saved before a quantity of 0 was refused: kept as it is, never ordered
            out.append(f"{v.name if v else item.variant_id} has a quantity of 0: orders never include it; "
                       "change its quantity or remove it.")
        elif v is not None and not v.deleted and not v.available:
            out.append(f"{v.name} is currently unavailable: orders get none of it until it is back.")
    t = draft.terms
    if ctx.now is not None and t.begins_at is not None:
        upcoming = [c for c in ctx.cycles if c.closes_at > ctx.now and c.closes_at >= t.begins_at
                    and (t.ends_at is None or c.closes_at <= t.ends_at)]
        if not upcoming:
            out.append("There are no open or upcoming order cycles for this subscription in its schedule.")
    return out


def estimate(ctx: Context, terms: Terms) -> Terms:
    """The terms priced as an order placed now would be, by order-service's rules: each item at its variant's
    catalog price (shared_events.money.unit_price), every item had in full (stock is shared out at placement;
    an unavailable item is a warning), the fees of the chosen methods as they stand, whether or not the methods
    can still be chosen, each item taxed at the shop's rate of its variant's category and each fee at its method's
    (shared_events.money.lines_totals, the function order-service totals its orders with). Taken when the
    subscription is saved and again whenever it is shown, so that what is shown follows catalog.events and the
    shop's fees and rates."""
    items = []
    rates = []
    for item in terms.items:
        v = ctx.variants.get(item.variant_id)
        price = unit_price(v.unit_price if v is not None else None, item.price_estimate)
        items.append(Item(item.variant_id, item.quantity, price, item.substitutes))
        rates.append(ctx.shop.tax_rate(v.tax_category if v is not None else None))
    t = Terms(**{**terms.__dict__, "items": tuple(items)})
    ship = ctx.shop.shipping_methods.get(t.shipping_method_id or "")
    pay = ctx.shop.payment_methods.get(t.payment_method_id or "")
    item_total = t.item_total()
    if ship is None or pay is None or item_total is None:
        return Terms(**{**t.__dict__, "shipping_fee_estimate": None, "payment_fee_estimate": None,
                        "tax_estimate": None, "shipping_tax_estimate": None, "payment_tax_estimate": None,
                        "payment_kind": pay.kind if pay else t.payment_kind})
    totals = lines_totals([((i.price_estimate or 0) * i.quantity, rate) for i, rate in zip(items, rates, strict=True)],
                          (ship.fee_flat, ship.fee_percent_bp), (pay.fee_flat, pay.fee_percent_bp),
                          shipping_tax_bp=ctx.shop.tax_rate(ship.tax_category),
                          payment_tax_bp=ctx.shop.tax_rate(pay.tax_category),
                          prices_include_tax=ctx.shop.prices_include_tax)
    return Terms(**{**t.__dict__, "shipping_fee_estimate": totals["shipping_fee"],
                    "payment_fee_estimate": totals["payment_fee"], "tax_estimate": totals["tax_total"],
                    "shipping_tax_estimate": totals["shipping_tax"], "payment_tax_estimate": totals["payment_tax"],
                    "tax_included": ctx.shop.prices_include_tax, "payment_kind": pay.kind})


def current_estimate(shop: Shop, variants: dict[str, Variant], terms: Terms) -> Terms:
    """``estimate`` with the shop's methods and the catalog as they are now (what a view shows)."""
    return estimate(Context(shop, None, None, variants=variants), terms)
