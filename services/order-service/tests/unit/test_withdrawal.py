"""Lines withdrawn from open orders when their variant leaves the catalog after placement (OFN #6363; pure)."""

from datetime import timedelta

import pytest
from order_unit_builders import CLOSES, FEES, NOW, line, order

from order_service.domain.withdrawal import Gone, cause_of, withdraw

GONE = {"honey": Gone("honey", "deleted", "catalog-event-1")}


def test_a_deleted_variant_leaves_the_open_order_its_stock_released_and_the_totals_without_it():
    o = order(line(1, "eggs", 2, price=320), line(2, "honey", 3, requested=4, price=850))
    [(event_type, payload)] = withdraw(o, GONE, FEES, NOW)
    assert event_type == "OrderLineWithdrawn"
    assert payload == {
        "line_id": "l-2", "variant_id": "honey", "name": "Honey", "unit_price": 850, "quantity": 3,
        "cause": "deleted", "catalog_event_id": "catalog-event-1", "status": "placed", "by": "system",
        "totals": FEES.totals([line(1, "eggs", 2, price=320)], "ship", "card"),
        "stock_delta": [{"variant_id": "honey", "delta": -3}]}
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
