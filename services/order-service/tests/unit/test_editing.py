"""Edit rules of a placed order until its cycle closes (pure)."""

from dataclasses import replace
from datetime import timedelta

import pytest
from order_unit_builders import CLOSES, FEES, NOW, line, order, variant

from order_service.domain import editing, errors
from order_service.domain.commands import AddLine, ChangeDetails, ChangeLineQuantity, RemoveLine
from order_service.domain.model import Stock

MANAGER = editing.Editor("manager", False)
CUSTOMER = editing.Editor("customer", True)
CUSTOMER_NOT_ALLOWED = editing.Editor("customer", False)


def change(o, line_id, quantity, editor=CUSTOMER, stock=None, now=NOW):
    return editing.change_line_quantity(o, ChangeLineQuantity("shop", o.order_id, line_id, quantity), editor,
                                        stock or Stock({"eggs": 10, "milk": 10}), FEES, now)


def test_a_customer_changes_a_quantity_within_stock_and_the_totals_and_stock_follow():
    o = order(line(1, "eggs", 2, price=320), line(2, "milk", 1, price=150))
    [(event_type, payload)] = change(o, "l-1", 5, stock=Stock({"eggs": 3}))
    assert event_type == "OrderLineChanged"
    assert (payload["quantity"], payload["previous_quantity"], payload["requested_quantity"]) == (5, 2, 5)
    assert payload["by"] == "customer" and payload["stock_delta"] == [{"variant_id": "eggs", "delta": 3}]
    assert payload["totals"]["item_total"] == 5 * 320 + 150


def test_more_than_the_stock_is_refused_with_how_many_are_possible():
    o = order(line(1, "eggs", 2), line(2, "milk", 1))
    with pytest.raises(errors.InvalidChange) as refused:
        change(o, "l-1", 6, stock=Stock({"eggs": 3}))
    assert refused.value.errors == {"quantity": ["At most 5 available."]}


def test_lowering_a_quantity_releases_stock_even_when_none_is_left():
    o = order(line(1, "eggs", 4), line(2, "milk", 1))
    [(_, payload)] = change(o, "l-1", 1, stock=Stock({"eggs": 0}))
    assert payload["stock_delta"] == [{"variant_id": "eggs", "delta": -3}]


def test_customers_cannot_change_anything_when_the_shop_does_not_allow_it():
    o = order(line(1, "eggs", 2), line(2, "milk", 1))
    with pytest.raises(errors.ChangeNotAllowed):
        change(o, "l-1", 1, editor=CUSTOMER_NOT_ALLOWED)
    with pytest.raises(errors.ChangeNotAllowed):
        editing.cancel(o, CUSTOMER_NOT_ALLOWED, NOW)
    assert change(o, "l-1", 1, editor=MANAGER)  # managers always can


@pytest.mark.parametrize("closed", [
    {"closes_at": NOW - timedelta(seconds=1)},
    {"cycle_closed": True},
    {"status": "confirmed"},
])
def test_every_change_is_refused_after_the_close(closed):
    o = order(line(1, "eggs", 2), line(2, "milk", 1), **closed)
    with pytest.raises(errors.OrderClosed):
        change(o, "l-1", 1, editor=MANAGER)
    with pytest.raises(errors.OrderClosed):
        editing.remove_line(o, RemoveLine("shop", "o-1", "l-2"), MANAGER, FEES, NOW)
    with pytest.raises(errors.OrderClosed):
        editing.cancel(o, MANAGER, NOW)
    with pytest.raises(errors.OrderClosed):
        editing.add_line(o, AddLine("shop", "o-1", "jam", 1), MANAGER, variant("jam"), Stock({"jam": 5}), FEES, NOW)


def test_the_last_line_cannot_be_removed_cancel_instead():
    o = order(line(1, "eggs", 2), line(2, "milk", 0, requested=3))
    with pytest.raises(errors.InvalidChange, match="cancel the order instead"):
        editing.remove_line(o, RemoveLine("shop", "o-1", "l-1"), CUSTOMER, FEES, NOW)
    [(event_type, payload)] = editing.remove_line(o, RemoveLine("shop", "o-1", "l-2"), CUSTOMER, FEES, NOW)
    assert event_type == "OrderLineRemoved" and payload["stock_delta"] == []


def test_removing_a_line_gives_its_stock_back():
    o = order(line(1, "eggs", 2, price=320), line(2, "milk", 1, price=150))
    [(_, payload)] = editing.remove_line(o, RemoveLine("shop", "o-1", "l-1"), CUSTOMER, FEES, NOW)
    assert payload["stock_delta"] == [{"variant_id": "eggs", "delta": -2}]
    assert payload["totals"]["item_total"] == 150


def test_only_managers_add_products_and_only_what_the_shop_sells_in_stock():
    o = order(line(1, "eggs", 2))
    with pytest.raises(errors.ChangeNotAllowed):
        editing.add_line(o, AddLine("shop", "o-1", "jam", 1), CUSTOMER, variant("jam"), Stock({"jam": 5}), FEES, NOW)
    with pytest.raises(errors.InvalidChange):
        editing.add_line(o, AddLine("shop", "o-1", "jam", 1), MANAGER, None, Stock({}), FEES, NOW)
    with pytest.raises(errors.InvalidChange, match="already on this order"):
        editing.add_line(o, AddLine("shop", "o-1", "eggs", 1), MANAGER, variant("eggs"), Stock({"eggs": 5}), FEES,
                         NOW)
    with pytest.raises(errors.InvalidChange):
        editing.add_line(o, AddLine("shop", "o-1", "jam", 6), MANAGER, variant("jam"), Stock({"jam": 5}), FEES, NOW)
    [(event_type, payload)] = editing.add_line(o, AddLine("shop", "o-1", "jam", 2), MANAGER, variant("jam", price=400),
                                               Stock({"jam": 5}), FEES, NOW)
    assert event_type == "OrderLineAdded" and payload["line"]["line_id"] == "l-2"
    assert payload["line"]["total"] == 800 and payload["stock_delta"] == [{"variant_id": "jam", "delta": 2}]


def test_cancel_releases_everything_and_resume_re_allocates_what_is_asked_within_stock():
    o = order(line(1, "eggs", 2, requested=3), line(2, "milk", 1))
    [(event_type, payload)] = editing.cancel(o, CUSTOMER, NOW)
    assert event_type == "OrderCancelled" and payload["cause"] == "customer"
    assert payload["stock_delta"] == [{"variant_id": "eggs", "delta": -2}, {"variant_id": "milk", "delta": -1}]
    cancelled = order(line(1, "eggs", 2, requested=3), line(2, "milk", 1), status="cancelled")
    with pytest.raises(errors.ChangeNotAllowed):  # the shop cancelled it (no cause: not the customer)
        editing.resume(cancelled, CUSTOMER, Stock({"eggs": 10, "milk": 10}), FEES, NOW)
    [(event_type, payload)] = editing.resume(cancelled, MANAGER, Stock({"eggs": 10, "milk": 0}), FEES, NOW)
    assert event_type == "OrderResumed"
    assert [(ln["quantity"], ln["requested_quantity"]) for ln in payload["lines"]] == [(3, 3), (0, 1)]
    assert payload["stock_delta"] == [{"variant_id": "eggs", "delta": 3}]
    with pytest.raises(errors.OrderNotEditable):
        editing.cancel(cancelled, MANAGER, NOW)


def test_a_manager_changes_the_payment_method_and_the_fees_follow():
    o = order(line(1, "eggs", 10, price=1000))
    methods = {("payment", "cash"): editing.Method("cash", "payment", True, "cash"),
               ("shipping", "gone"): editing.Method("gone", "shipping", False)}
    [(event_type, payload)] = editing.change_details(o, ChangeDetails("shop", "o-1", payment_method_id="cash"),
                                                     MANAGER, methods, FEES, NOW)
    assert event_type == "OrderDetailsChanged"
    assert payload["payment_kind"] == "cash" and payload["totals"]["payment_fee"] == 0
    with pytest.raises(errors.InvalidChange):
        editing.change_details(o, ChangeDetails("shop", "o-1", shipping_method_id="gone"), MANAGER, methods, FEES, NOW)
    with pytest.raises(errors.ChangeNotAllowed):
        editing.change_details(o, ChangeDetails("shop", "o-1", payment_method_id="cash"), CUSTOMER, methods, FEES, NOW)


def test_cancelled_and_empty_orders_cannot_be_edited_line_by_line():
    for status in ("cancelled", "empty"):
        with pytest.raises(errors.OrderNotEditable):
            change(order(line(1, "eggs", 2), status=status), "l-1", 1, editor=MANAGER)


def test_an_unknown_line_is_reported():
    with pytest.raises(errors.LineNotFound):
        change(order(line(1, "eggs", 2)), "l-9", 1)


def test_the_close_time_itself_is_already_closed():
    with pytest.raises(errors.OrderClosed):
        change(order(line(1, "eggs", 2), line(2, "milk", 1)), "l-1", 1, now=CLOSES)


@pytest.mark.parametrize("cause", ["manager", "subscription_paused", "subscription_cancelled", "occurrence_skipped"])
def test_a_customer_resumes_an_order_they_cancelled_but_not_one_the_shop_or_their_subscription_cancelled(cause):
    mine = replace(order(line(1, "eggs", 2), status="cancelled"), cancel_cause="customer")
    [(event_type, payload)] = editing.resume(mine, CUSTOMER, Stock({"eggs": 10}), FEES, NOW)
    assert event_type == "OrderResumed" and payload["by"] == "customer"
    with pytest.raises(errors.ChangeNotAllowed, match="only the shop can resume it"):
        editing.resume(replace(mine, cancel_cause=cause), CUSTOMER, Stock({"eggs": 10}), FEES, NOW)
    with pytest.raises(errors.ChangeNotAllowed, match="does not allow customers"):
        editing.resume(mine, CUSTOMER_NOT_ALLOWED, Stock({"eggs": 10}), FEES, NOW)
    assert editing.resume(replace(mine, cancel_cause=cause), MANAGER, Stock({"eggs": 10}), FEES, NOW)


def test_the_products_a_manager_may_add_are_those_add_line_takes_sold_not_on_the_order_with_stock_left_by_name():
    o = order(line(1, "eggs", 2), line(2, "milk", 1))
    catalog = [variant("jam", on_hand=3), variant("eggs", on_hand=9), variant("honey", on_hand=None),
               variant("gone", on_hand=0), variant("old", sellable=False), variant("bread", on_hand=1)]
    offered = editing.products_to_add(o, catalog)
    assert [v.variant_id for v in offered] == ["bread", "honey", "jam"]
    for v in offered:
        [(event_type, _)] = editing.add_line(o, AddLine("shop", o.order_id, v.variant_id, 1), MANAGER, v,
                                             Stock({v.variant_id: v.on_hand}), FEES, NOW)
        assert event_type == "OrderLineAdded"
    for v in catalog:
        if v not in offered:
            with pytest.raises(errors.InvalidChange):
                editing.add_line(o, AddLine("shop", o.order_id, v.variant_id, 1), MANAGER, v,
                                 Stock({v.variant_id: v.on_hand} if v.sellable else {}), FEES, NOW)
