"""Tax on orders (pure): each line taxed at the rate of its variant's category copied at placement, fees by their
method's category, prices including or excluding tax; edits tax with the order's copied rates."""

from dataclasses import replace

from order_unit_builders import ADDRESS, NOW, due, terms

from order_service.domain import editing, placement, propagation
from order_service.domain.commands import AddLine, ChangeLineQuantity
from order_service.domain.model import SYSTEM_ACTOR, Fee, Fees, Stock, TaxTerms
from order_service.domain.placement import Variant
from shared_events.money import tax_of

FRANCE = TaxTerms(True, {"reduced": 550, "standard": 2000})
UK = TaxTerms(False, {"zero": 0, "standard": 2000})
TAXED_FEES = Fees({"ship": Fee(500, 0, "standard")}, {"card": Fee(0, 0, None)})
CATALOG = {"veg": Variant("veg", "Vegetables", 2110, None, True, "reduced"),
           "wine": Variant("wine", "Wine", 1200, None, True, "standard"),
           "bread": Variant("bread", "Bread", 300, None, True, None)}


def _place(tax, items):
    [planned] = placement.plan([(due("s"), terms("s", items))], CATALOG, placement.stock_levels(CATALOG),
                               "first_come", tax=tax)
    return placement.placed_payload(planned, order_id="o", number="R1", shop_id="shop", currency="EUR",
                                    fees=TAXED_FEES, policy="first_come", late=False, actor=SYSTEM_ACTOR, tax=tax)


def test_a_french_order_with_prices_including_tax_carries_each_lines_tax_and_total_is_unchanged():
    payload = _place(FRANCE, [("veg", 2), ("wine", 1), ("bread", 1)])
    lines = {ln["variant_id"]: ln for ln in payload["lines"]}
    assert (lines["veg"]["tax"], lines["veg"]["tax_category"], lines["veg"]["tax_rate_bp"]) == (220, "reduced", 550)
    assert (lines["wine"]["tax"], lines["wine"]["tax_rate_bp"]) == (200, 2000)
    assert (lines["bread"]["tax"], lines["bread"]["tax_category"], lines["bread"]["tax_rate_bp"]) == (0, None, 0)
    assert payload["prices_include_tax"] is True
    assert payload["tax_rates"] == [{"category": "reduced", "rate_bp": 550}, {"category": "standard", "rate_bp": 2000}]
    assert payload["totals"] == {"item_total": 5720, "shipping_fee": 500, "payment_fee": 0, "shipping_tax": 83,
                                 "payment_tax": 0, "tax_total": 220 + 200 + 83, "total": 6220}


def test_a_uk_order_with_prices_excluding_tax_adds_the_tax_to_the_total():
    payload = _place(UK, [("wine", 2)])
    assert payload["lines"][0]["tax"] == 480
    assert payload["totals"]["tax_total"] == 480 + 100
    assert payload["totals"]["total"] == 2400 + 500 + 580


def test_an_order_placed_without_tax_terms_is_untaxed_as_before():
    payload = _place(TaxTerms(), [("wine", 1)])
    assert payload["lines"][0]["tax"] == 0 and payload["totals"]["tax_total"] == 0
    assert payload["totals"]["total"] == 1700


def _french_order():
    payload = _place(FRANCE, [("veg", 2), ("wine", 1)])
    from order_service.adapters.repository import order_from_row  # the loader of a stored order
    row = {**payload, "cycle_closes_at": payload["closes_at"], "cycle_closed_at": None, "version": 1,
           "total": payload["totals"]["total"], "cancel_cause": None, "closes_at": NOW.replace(year=2099)}
    row["cycle_closes_at"] = row["closes_at"]
    return order_from_row(row, [{**ln, "edited_by": None} for ln in payload["lines"]])


def test_a_line_quantity_change_retaxes_the_line_and_the_totals_at_the_rate_copied_at_placement():
    placed = _french_order()
    [event] = editing.change_line_quantity(placed, ChangeLineQuantity("shop", "o", "l-1", 3),
                                           editing.Editor("manager", True), Stock({"veg": None}), TAXED_FEES, NOW)
    assert event.payload["tax"] == tax_of(3 * 2110, 550, True) == 330
    assert event.payload["totals"]["tax_total"] == 330 + 200 + 83


def test_a_line_added_after_a_rate_change_takes_the_orders_copied_rate_not_the_shops_new_one():
    placed = _french_order()
    # the shop's reduced rate is now 10 %: the catalog is the same, the order keeps 5.5 %
    [event] = editing.add_line(replace(placed, lines=[placed.lines[1]]), AddLine("shop", "o", "veg", 1),
                               editing.Editor("manager", True), CATALOG["veg"], Stock({"veg": None}), TAXED_FEES,
                               NOW)
    assert event.payload["line"]["tax_rate_bp"] == 550
    assert event.payload["line"]["tax"] == tax_of(2110, 550, True)


def test_a_subscription_change_adds_lines_taxed_with_the_orders_rates():
    placed = _french_order()
    before = [{"variant_id": "veg", "quantity": 2}, {"variant_id": "wine", "quantity": 1}]
    after = [*before, {"variant_id": "bread", "quantity": 1}]
    out = propagation.propagate(placed, {"items": after}, {"items": before}, CATALOG, Stock({"bread": None}),
                                TAXED_FEES)
    [added] = out.events
    assert added.payload["line"]["tax_category"] is None and added.payload["line"]["tax"] == 0
    assert added.payload["totals"]["total"] == placed.totals(TAXED_FEES)["total"] + 300


def test_the_order_keeps_its_tax_terms_and_address_from_placement():
    placed = _french_order()
    assert placed.tax == FRANCE and placed.bill_address == ADDRESS
    assert placed.totals(TAXED_FEES)["tax_total"] == 220 + 200 + 83


def test_a_substitute_placed_instead_of_an_item_is_taxed_in_its_own_category():
    catalog = {**CATALOG, "veg": Variant("veg", "Vegetables", 2110, 0, True, "reduced")}
    terms_ = replace(terms("s", [("veg", 1)]), items=[{"variant_id": "veg", "quantity": 1, "price_estimate": None,
                                                        "substitutes": ["wine"]}])
    [planned] = placement.plan([(due("s"), terms_)], catalog, placement.stock_levels(catalog), "first_come",
                               tax=FRANCE)
    [line] = planned.lines
    assert (line.variant_id, line.substitute_for["variant_id"]) == ("wine", "veg")
    assert (line.tax_category, line.tax_rate_bp, line.tax) == ("standard", 2000, 200)
