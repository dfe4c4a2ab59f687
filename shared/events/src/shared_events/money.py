"""Money rules every service applies the same way. Amounts are integer minor units.

Tax (the one rounding rule): tax is computed per order line on the line's total (unit price x quantity), and
on each fee with the rate of the fee's tax category, rounded half-even to the minor unit (exact integer
arithmetic, no floats). Where the shop's prices exclude tax, tax = amount x rate / 10000 and is added to the
total; where they include it, tax = amount x rate / (10000 + rate) and the total stays what the prices say.
Rates are basis points (5.5 % = 550, 20 % = 2000). A category the shop has no rate for, or no category, is
taxed at 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def percent_of(amount: int, basis_points: int) -> int:
    """amount * basis_points / 10000, rounded half up (1 bp = 0.01 %)."""
    if amount < 0 or basis_points < 0:
        raise ValueError("amount and basis points must not be negative")
    return (amount * basis_points + 5_000) // 10_000


def _divide_half_even(numerator: int, denominator: int) -> int:
    quotient, remainder = divmod(numerator, denominator)
    if 2 * remainder > denominator or (2 * remainder == denominator and quotient % 2 == 1):
        quotient += 1
    return quotient


def tax_of(amount: int, rate_bp: int, prices_include_tax: bool) -> int:
    """The tax of an amount (a line's total or a fee) at ``rate_bp``, rounded half-even: the tax added on
    top of it where prices exclude tax, the part of it that is tax where they include it."""
    if amount < 0 or rate_bp < 0:
        raise ValueError("amount and tax rate must not be negative")
    if prices_include_tax:
        return _divide_half_even(amount * rate_bp, 10_000 + rate_bp)
    return _divide_half_even(amount * rate_bp, 10_000)


def tax_rate(rates: Mapping[str, int], category: str | None) -> int:
    """The rate of a tax category in a shop's rates (basis points); 0 for no category or one without a rate."""
    return rates.get(category, 0) if category is not None else 0


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


def order_totals(item_total: int, shipping: tuple[int, int], payment: tuple[int, int], *, line_tax: int = 0,
                 shipping_tax_bp: int = 0, payment_tax_bp: int = 0,
                 prices_include_tax: bool = False) -> dict[str, int]:
    """Totals of an order (or a subscription estimate).

    ``item_total`` is the sum of the lines' totals and ``line_tax`` the sum of their taxes (each ``tax_of``
    its line's total at its rate). shipping fee = flat + % of the item total; payment fee = flat + % of
    (items + shipping); each fee's tax is ``tax_of`` the fee at its method's rate. ``tax_total`` = line tax +
    shipping tax + payment tax; total = items + fees, + tax_total where prices exclude tax. A zero item total
    (an empty order) costs nothing.
    """
    if item_total == 0:
        return {"item_total": 0, "shipping_fee": 0, "payment_fee": 0, "shipping_tax": 0, "payment_tax": 0,
                "tax_total": 0, "total": 0}
    shipping_fee = method_fee(shipping[0], shipping[1], item_total)
    payment_fee = method_fee(payment[0], payment[1], item_total + shipping_fee)
    shipping_tax = tax_of(shipping_fee, shipping_tax_bp, prices_include_tax)
    payment_tax = tax_of(payment_fee, payment_tax_bp, prices_include_tax)
    tax_total = line_tax + shipping_tax + payment_tax
    total = item_total + shipping_fee + payment_fee + (0 if prices_include_tax else tax_total)
    return {"item_total": item_total, "shipping_fee": shipping_fee, "payment_fee": payment_fee,
            "shipping_tax": shipping_tax, "payment_tax": payment_tax, "tax_total": tax_total, "total": total}


def lines_totals(lines: Iterable[tuple[int, int]], shipping: tuple[int, int], payment: tuple[int, int], *,
                 shipping_tax_bp: int = 0, payment_tax_bp: int = 0,
                 prices_include_tax: bool = False) -> dict[str, int]:
    """``order_totals`` of lines given as (line total, tax rate in basis points), each line taxed on its own
    (``tax_of``). order-service totals its orders and subscription-service its estimates with it."""
    item_total = line_tax = 0
    for total, rate_bp in lines:
        item_total += total
        line_tax += tax_of(total, rate_bp, prices_include_tax)
    return order_totals(item_total, shipping, payment, line_tax=line_tax, shipping_tax_bp=shipping_tax_bp,
                        payment_tax_bp=payment_tax_bp, prices_include_tax=prices_include_tax)


def tax_by_rate(lines: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """The lines' tax summed per rate, as (rate_bp, tax) by rate: what a receipt or an invoice lists per rate.
    ``lines`` are (rate_bp, tax) pairs (each line's own, rounded tax); rates whose lines owe no tax are left out."""
    summed: dict[int, int] = {}
    for rate_bp, tax in lines:
        summed[rate_bp] = summed.get(rate_bp, 0) + tax
    return sorted((rate, tax) for rate, tax in summed.items() if tax)
