"""The platform's tax rule (shared_events.money): per line, half-even, prices including or excluding tax,
fees taxed by their own category's rate."""

from decimal import ROUND_HALF_EVEN, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared_events.money import lines_totals, order_totals, tax_of, tax_rate


def test_tax_added_on_top_of_a_price_excluding_tax_rounds_half_even():
    assert tax_of(1000, 2000, False) == 200
    assert tax_of(10, 550, False) == 1  # 0.55 -> 1
    assert tax_of(90, 550, False) == 5  # 4.95 -> 5
    assert tax_of(50, 1000, False) == 5
    assert tax_of(5, 1000, False) == 0  # 0.5 -> 0 (even)
    assert tax_of(15, 1000, False) == 2  # 1.5 -> 2 (even)
    assert tax_of(25, 1000, False) == 2  # 2.5 -> 2 (even)


def test_tax_included_in_a_price_is_the_part_over_ten_thousand_plus_the_rate():
    assert tax_of(1200, 2000, True) == 200
    assert tax_of(1055, 550, True) == 55
    assert tax_of(3, 2000, True) == 0  # 0.5 -> 0 (even)
    assert tax_of(9, 2000, True) == 2  # 1.5 -> 2 (even)
    assert tax_of(2000, 0, True) == 0


def test_negative_amounts_or_rates_are_refused():
    with pytest.raises(ValueError):
        tax_of(-1, 2000, False)
    with pytest.raises(ValueError):
        tax_of(100, -1, True)


def test_a_category_without_a_rate_in_the_shop_and_no_category_are_taxed_at_zero():
    rates = {"reduced": 550, "standard": 2000}
    assert tax_rate(rates, "reduced") == 550
    assert tax_rate(rates, "zero") == 0
    assert tax_rate(rates, None) == 0


def test_each_line_is_taxed_on_its_own_total_not_the_order_on_its_sum():
    # three lines of 0.05 at 10 %: 0.005 each rounds to 0 (even), while their sum 0.15 would give 0.015 -> 2
    totals = lines_totals([(5, 1000)] * 3, (0, 0), (0, 0))
    assert totals["tax_total"] == 0 and totals["total"] == 15


def test_fees_are_taxed_with_their_methods_rates_and_added_where_prices_exclude_tax():
    totals = lines_totals([(2000, 550), (700, 2000)], (500, 0), (0, 150), shipping_tax_bp=2000, payment_tax_bp=0)
    assert totals == {"item_total": 2700, "shipping_fee": 500, "payment_fee": 48, "shipping_tax": 100,
                      "payment_tax": 0, "tax_total": 110 + 140 + 100, "total": 2700 + 500 + 48 + 350}


def test_where_prices_include_tax_the_total_is_items_and_fees_and_tax_total_says_how_much_is_tax():
    totals = lines_totals([(2110, 550), (1200, 2000)], (600, 0), (0, 0), shipping_tax_bp=2000,
                          prices_include_tax=True)
    assert totals == {"item_total": 3310, "shipping_fee": 600, "payment_fee": 0, "shipping_tax": 100,
                      "payment_tax": 0, "tax_total": 110 + 200 + 100, "total": 3910}


def test_an_empty_order_has_no_tax_and_costs_nothing():
    assert lines_totals([(0, 2000)], (500, 0), (30, 150), shipping_tax_bp=2000)["total"] == 0
    assert order_totals(0, (500, 0), (30, 150), shipping_tax_bp=2000)["tax_total"] == 0


def _reference_tax(amount: int, rate_bp: int, included: bool) -> int:
    exact = Decimal(amount * rate_bp) / Decimal(10_000 + rate_bp if included else 10_000)
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


@given(st.integers(0, 10**9), st.integers(0, 10_000), st.booleans())
def test_tax_equals_decimal_half_even_rounding_of_the_exact_tax(amount, rate_bp, included):
    assert tax_of(amount, rate_bp, included) == _reference_tax(amount, rate_bp, included)


RATES = st.sampled_from([0, 550, 1000, 2000, 2100, 10_000])
LINES = st.lists(st.tuples(st.integers(0, 100_000), st.integers(0, 50), RATES), max_size=12)
FEE = st.tuples(st.integers(0, 5_000), st.integers(0, 1_000))


@given(LINES, FEE, FEE, RATES, RATES, st.booleans())
def test_totals_equal_the_sum_of_their_parts_for_random_orders(lines, shipping, payment, ship_bp, pay_bp,
                                                               included):
    priced = [(unit * quantity, rate) for unit, quantity, rate in lines]
    totals = lines_totals(priced, shipping, payment, shipping_tax_bp=ship_bp, payment_tax_bp=pay_bp,
                          prices_include_tax=included)
    item_total = sum(total for total, _ in priced)
    assert totals["item_total"] == item_total
    if item_total == 0:
        assert set(totals.values()) == {0}
        return
    line_tax = sum(_reference_tax(total, rate, included) for total, rate in priced)
    assert totals["shipping_tax"] == _reference_tax(totals["shipping_fee"], ship_bp, included)
    assert totals["payment_tax"] == _reference_tax(totals["payment_fee"], pay_bp, included)
    assert totals["tax_total"] == line_tax + totals["shipping_tax"] + totals["payment_tax"]
    fees = totals["shipping_fee"] + totals["payment_fee"]
    if included:
        assert totals["total"] == item_total + fees
        assert totals["tax_total"] <= totals["total"]
    else:
        assert totals["total"] == item_total + fees + totals["tax_total"]


def test_the_lines_tax_is_summed_per_rate_leaving_out_rates_that_owe_nothing():
    from shared_events.money import tax_by_rate

    assert tax_by_rate([(2000, 200), (550, 110), (2000, 50), (0, 0), (550, 0)]) == [(550, 110), (2000, 250)]
    assert tax_by_rate([]) == []
