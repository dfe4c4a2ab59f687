"""Lines withdrawn from open orders when their variant leaves the catalog after placement (OFN #6363; pure)."""

from datetime import timedelta

import pytest
from order_unit_builders import CLOSES, FEES, NOW, line, order

from order_service.domain.model import Stock, TaxTerms
from order_service.domain.placement import Variant
from order_service.domain.withdrawal import Gone, cause_of, substitutes_for, withdraw

GONE = {"honey": Gone("honey", "deleted", "catalog-event-1")}


def test_a_deleted_variant_leaves_the_open_order_its_stock_released_and_the_totals_without_it():
    o = order(line(1, "eggs", 2, price=320), line(2, "honey", 3, requested=4, price=850))
    [(event_type, payload)] = withdraw(o, GONE, FEES, NOW)
    assert event_type == "OrderLineWithdrawn"
    assert payload == {
        "line_id": "l-2", "variant_id": "honey", "name": "Honey", "unit_price": 850, "quantity": 3,
        "cause": "deleted", "catalog_event_id": "catalog-event-1", "status": "placed", "by": "system",
        "totals": FEES.totals([line(1, "eggs", 2, price=320)], "ship", "card"),
        "stock_delta": [{"variant_id": "honey", "delta": -3}], "substitute": None}
    assert payload["totals"]["item_total"] == 640  # nothing is charged for what was withdrawn


def test_an_order_left_with_nothing_allocated_becomes_empty_and_costs_nothing():
    o = order(line(1, "honey", 2), line(2, "eggs", 0, requested=1))
    [(_, payload)] = withdraw(o, GONE, FEES, NOW)
    assert payload["status"] == "empty"
    assert payload["totals"]["total"] == 0 and set(payload["totals"].values()) == {0}  # fees and tax included


def test_each_line_of_several_gone_variants_is_withdrawn_with_the_totals_after_it():
    gone = {**GONE, "eggs": Gone("eggs", "unavailable", "catalog-event-2")}
    o = order(line(1, "eggs", 2, price=320), line(2, "honey", 1, price=850), line(3, "milk", 1, price=150))
    first, second = withdraw(o, gone, FEES, NOW)
    assert (first.payload["variant_id"], first.payload["cause"]) == ("eggs", "unavailable")
    assert first.payload["totals"]["item_total"] == 850 + 150 and first.payload["status"] == "placed"
    assert second.payload["totals"]["item_total"] == 150 and second.payload["status"] == "placed"


def test_a_line_already_at_zero_is_withdrawn_too_with_no_stock_to_release():
    o = order(line(1, "eggs", 2), line(2, "honey", 0, requested=2))
    [(_, payload)] = withdraw(o, GONE, FEES, NOW)
    assert payload["stock_delta"] == [] and payload["status"] == "placed"


@pytest.mark.parametrize("closed", [
    dict(status="confirmed"), dict(status="cancelled"), dict(status="empty"), dict(cycle_closed=True),
    dict(closes_at=NOW - timedelta(minutes=1))], ids=["confirmed", "cancelled", "empty", "cycle-closed", "past-close"])
def test_orders_no_longer_open_are_not_changed(closed):
    assert withdraw(order(line(1, "eggs", 2), line(2, "honey", 1), **closed), GONE, FEES, NOW) == []


def test_an_order_without_the_variant_is_not_changed():
    assert withdraw(order(line(1, "eggs", 2), closes_at=CLOSES), GONE, FEES, NOW) == []


def test_a_variant_is_gone_when_deleted_or_unavailable_and_a_price_change_is_not_a_withdrawal():
    assert cause_of(available=True, deleted=True) == "deleted"
    assert cause_of(available=False, deleted=False) == "unavailable"
    assert cause_of(available=True, deleted=False) is None


CATALOG = {v.variant_id: v for v in (
    Variant("honey", "Honey", 850, 0, False), Variant("jam", "Jam", 400, 0, True),
    Variant("syrup", "Syrup", 600, 5, True, "reduced"), Variant("eggs", "Eggs", 320, None, True))}
HONEY_ITEM = {"variant_id": "honey", "quantity": 4, "substitutes": ["jam", "syrup"]}


def test_a_withdrawn_line_gets_its_items_first_substitute_with_stock_for_what_it_asked_taxed_in_the_same_event():
    o = order(line(1, "eggs", 2, price=320), line(2, "honey", 3, requested=4, price=850),
              tax=TaxTerms.of(True, [{"category": "reduced", "rate_bp": 550}]))
    stock = Stock({"jam": 0, "syrup": 5, "eggs": None})
    instead = substitutes_for([o], GONE, {"sub": [{"variant_id": "eggs", "quantity": 2}, HONEY_ITEM]}, CATALOG, stock,
                              "first_come", NOW)
    [(_, payload)] = withdraw(o, GONE, FEES, NOW, instead)
    assert payload["substitute"] == {"line_id": "l-3", "variant_id": "syrup", "name": "Syrup", "unit_price": 600,
                                     "requested_quantity": 4, "quantity": 4, "total": 2400,
                                     "substitute_for": {"variant_id": "honey", "name": "Honey"},
                                     "tax": 125, "tax_category": "reduced", "tax_rate_bp": 550}  # 2400 * 550 / 10550
    assert payload["stock_delta"] == [{"variant_id": "honey", "delta": -3}, {"variant_id": "syrup", "delta": 4}]
    assert payload["totals"]["item_total"] == 640 + 2400 and payload["status"] == "placed"
    assert payload["totals"]["tax_total"] == 125 and payload["totals"]["total"] == 640 + 2400 + 500 + 53  # included
    assert stock.available("syrup") == 1


def test_a_withdrawn_line_whose_substitutes_have_no_stock_left_is_withdrawn_alone():
    orders = [order(line(1, "honey", 1, requested=3), order_id=f"o-{n}", subscription_id=f"sub-{n}") for n in (1, 2)]
    items = {f"sub-{n}": [{"variant_id": "honey", "quantity": 3, "substitutes": ["syrup"]}] for n in (1, 2)}
    instead = substitutes_for(orders, GONE, items, CATALOG, Stock({"syrup": 5}), "first_come", NOW)
    assert [(key, sub.quantity) for key, sub in instead.items()] == [(("o-1", "l-1"), 3), (("o-2", "l-1"), 2)]
    none_left = substitutes_for(orders, GONE, items, CATALOG, Stock({"syrup": 0}), "first_come", NOW)
    assert none_left == {} and withdraw(orders[0], GONE, FEES, NOW, none_left)[0].payload["substitute"] is None
