"""Money rules every service applies the same way. Amounts are integer minor units."""

from __future__ import annotations


def percent_of(amount: int, basis_points: int) -> int:
    """amount * basis_points / 10000, rounded half up (1 bp = 0.01 %)."""
    if amount < 0 or basis_points < 0:
        raise ValueError("amount and basis points must not be negative")
    return (amount * basis_points + 5_000) // 10_000


def unit_price(catalog_price: int | None, last_price: int | None) -> int | None:
    """What one unit of a subscription's item costs on an order placed now: its variant's current price in the
    shop's catalog (catalog.events), whether or not it can be had; the subscription's last estimate when the
    catalog does not know the variant; None without either.

    order-service prices the lines it places with it and subscription-service its estimates, so an estimate is
    what an order placed at that moment costs (stock allowing)."""
    return catalog_price if catalog_price is not None else last_price


def method_fee(fee_flat: int, fee_percent_bp: int, base: int) -> int:
    """Fee of a shipping or payment method: flat part + percentage of ``base``."""
    return fee_flat + percent_of(base, fee_percent_bp)


def order_totals(item_total: int, shipping: tuple[int, int], payment: tuple[int, int]) -> dict[str, int]:
    """Totals of an order (or a subscription estimate).

    shipping fee = flat + % of the item total; payment fee = flat + % of (items + shipping);
    a zero item total (an empty order) costs nothing.
    """
    if item_total == 0:
        return {"item_total": 0, "shipping_fee": 0, "payment_fee": 0, "total": 0}
    shipping_fee = method_fee(shipping[0], shipping[1], item_total)
    payment_fee = method_fee(payment[0], payment[1], item_total + shipping_fee)
    return {"item_total": item_total, "shipping_fee": shipping_fee, "payment_fee": payment_fee,
            "total": item_total + shipping_fee + payment_fee}
