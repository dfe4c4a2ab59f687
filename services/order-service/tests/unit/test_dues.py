"""The rules of a due (domain.dues), without I/O."""

from order_service.domain.dues import (
    OpeningBatch,
    Route,
    batch_keeps_waiting,
    catalog_known,
    keeps_waiting_for_catalog,
    lacks,
    ready_to_place,
    route,
    set_aside_because,
)

METHODS = {("shipping", "ship-1"), ("payment", "pay-1")}
SUB = {"shipping_method_id": "ship-1", "payment_method_id": "pay-1"}


def batch(due_count=3, dues_recorded=3, missed_count=1, missed_recorded=1, placed=False):
    return OpeningBatch(due_count, dues_recorded, missed_count, missed_recorded, placed)


def test_an_opening_batch_is_ready_when_every_due_and_missed_due_announced_is_recorded():
    assert ready_to_place(batch())
    assert ready_to_place(batch(dues_recorded=4))  # recorded before the count came: complete all the same


def test_an_opening_batch_is_not_ready_before_its_cycle_opened_is_seen_nor_with_a_due_or_a_miss_missing():
    assert not ready_to_place(batch(due_count=None))
    assert not ready_to_place(batch(dues_recorded=2))
    assert not ready_to_place(batch(missed_recorded=0))


def test_an_opening_batch_already_placed_is_never_ready_again():
    assert not ready_to_place(batch(placed=True))


def test_a_late_due_or_a_due_of_a_closed_cycle_is_placed_late_whatever_its_reason():
    for reason in ("cycle_opened", "subscription_created"):
        assert route(late=True, reason=reason, cycle_closed=False, batch_placed=False) is Route.LATE
        assert route(late=False, reason=reason, cycle_closed=True, batch_placed=False) is Route.LATE


def test_an_opening_due_waits_for_its_batch_until_the_batch_is_placed_then_goes_alone():
    assert route(late=False, reason="cycle_opened", cycle_closed=False, batch_placed=False) is Route.WITH_BATCH
    assert route(late=False, reason="cycle_opened", cycle_closed=False, batch_placed=True) is Route.ALONE


def test_a_mid_cycle_due_is_placed_alone():
    assert route(late=False, reason="subscription_created", cycle_closed=False, batch_placed=False) is Route.ALONE


def test_a_due_lacks_its_shop_then_its_subscription_then_its_methods():
    assert lacks(False, None, METHODS) == "shop"
    assert lacks(True, None, METHODS) == "subscription"
    assert lacks(True, dict(SUB, shipping_method_id="ship-2"), METHODS) == "shipping_method"
    assert lacks(True, dict(SUB, payment_method_id="pay-2"), METHODS) == "payment_method"
    assert lacks(True, SUB, METHODS) is None


def test_a_due_whose_products_the_catalog_has_not_told_of_lacks_the_catalog_after_all_the_rest():
    assert lacks(True, SUB, METHODS, catalog_known=False) == "catalog"
    assert lacks(True, dict(SUB, payment_method_id="pay-2"), METHODS, catalog_known=False) == "payment_method"
    items = [{"variant_id": "eggs", "quantity": 2}, {"variant_id": "honey", "quantity": 1}]
    assert catalog_known(items, {"eggs", "honey", "bread"}) and not catalog_known(items, {"eggs"})
    assert catalog_known([], set())


def test_a_due_waits_for_the_catalog_only_a_bounded_time():
    assert keeps_waiting_for_catalog(59.9, 60) and not keeps_waiting_for_catalog(60, 60)


def test_a_paused_or_cancelled_subscriptions_due_is_set_aside_and_so_is_a_skipped_occurrence():
    assert set_aside_because("paused", False) == "subscription_paused"
    assert set_aside_because("cancelled", True) == "subscription_cancelled"
    assert set_aside_because("active", True) == "occurrence_skipped"
    assert set_aside_because("active", False) is None


def test_a_batch_waits_for_missing_data_only_as_long_as_its_patience():
    assert batch_keeps_waiting(0.0, 60.0)
    assert not batch_keeps_waiting(60.0, 60.0)
    assert not batch_keeps_waiting(0.0, 0.0)
