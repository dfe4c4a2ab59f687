"""Reference section 9, rule by rule."""

from datetime import timedelta

import pytest

from subscription_service.domain.customers import Customer
from subscription_service.domain.schedules import Schedule
from subscription_service.domain.terms import Item
from subscription_service.domain.validation import estimate, validate


def errors_of(world, ctx=None, before=(), **draft):
    errors, _ = validate(ctx or world.ctx(), world.draft(**draft), before)
    return errors


def test_a_complete_subscription_is_valid(world):
    assert errors_of(world) == {}


@pytest.mark.parametrize("name", ["shipping_method_id", "payment_method_id", "bill_address", "ship_address",
                                  "begins_at"])
def test_every_required_term_is_required(world, name):
    assert errors_of(world, **{name: None})[name] == ["Missing data for required field."]


@pytest.mark.parametrize("name", ["customer_id", "schedule_id"])
def test_customer_and_schedule_are_required(world, name):
    assert errors_of(world, **{name: None})[name] == ["Missing data for required field."]


def test_a_shipping_method_of_another_shop_or_inactive_is_not_available(world):
    assert errors_of(world, shipping_method_id="elsewhere")["shipping_method_id"] == ["Is not available to La Ruche."]
    assert errors_of(world, shipping_method_id="ship-off")["shipping_method_id"] == ["Is not available to La Ruche."]


def test_a_removed_payment_method_is_not_available(world):
    assert errors_of(world, payment_method_id="gone-1")["payment_method_id"] == ["Is not available to La Ruche."]


def test_ends_at_must_be_strictly_after_begins_at(world):
    assert errors_of(world, ends_at=world.now)["ends_at"] == ["Must be after begins at."]
    assert "ends_at" not in errors_of(world, ends_at=world.now + timedelta(seconds=1))


def test_the_customer_must_belong_to_the_shop(world):
    other = Customer("cust-1", "shop-2", 1, {"email": "x@y.example"})
    assert errors_of(world, ctx=world.ctx(customer=other))["customer_id"] == ["Does not belong to La Ruche."]
    assert errors_of(world, ctx=world.ctx(customer=None))["customer_id"] == ["Does not belong to La Ruche."]
    deleted = world.customer(deleted=True)
    assert errors_of(world, ctx=world.ctx(customer=deleted))["customer_id"] == ["Does not belong to La Ruche."]


def test_the_schedule_must_be_the_shops_own(world):
    other = Schedule("sched-1", "shop-2", 1, "Theirs", ("oc-0",))
    assert errors_of(world, ctx=world.ctx(schedule=other))["schedule_id"] == ["Is not coordinated by La Ruche."]
    assert errors_of(world, ctx=world.ctx(schedule=None))["schedule_id"] == ["Is not coordinated by La Ruche."]


def test_stripe_needs_the_customers_permission_and_a_default_card(world):
    ctx = world.ctx(customer=world.customer(allow_charges=False, card=None))
    assert errors_of(world, ctx=ctx)["payment_method_id"] == [
        "Credit card charges are not allowed by this customer.", "No default card available for this customer."]


def test_cash_needs_neither_permission_nor_card(world):
    ctx = world.ctx(customer=world.customer(allow_charges=False, card=None))
    assert errors_of(world, ctx=ctx, payment_method_id="cash-1") == {}


def test_at_least_one_product_with_a_quantity(world):
    assert errors_of(world, items=())["items"] == ["Please add at least one product."]
    kept = (Item("eggs", 0),)  # saved before a quantity of 0 was refused
    assert errors_of(world, items=kept, before=kept)["items"] == ["Please add at least one product."]
    assert "items" not in errors_of(world, items=(Item("eggs", 0), Item("box", 1)), before=kept)


def test_a_quantity_of_0_is_refused_on_a_new_line_or_a_changed_one_and_kept_on_a_line_saved_with_it(world):
    assert errors_of(world, items=(Item("eggs", 0),)) == {"items.0.quantity": ["Must be at least 1."]}
    before = (Item("eggs", 0), Item("box", 2))
    assert errors_of(world, items=(Item("eggs", 0), Item("box", 2, None, ("eggs",))), before=before) == {}
    assert errors_of(world, items=(Item("eggs", 0), Item("box", 0)), before=before) == {
        "items.1.quantity": ["Must be at least 1."]}
    assert errors_of(world, items=(Item("box", 2), Item("later", 0)), before=before) == {
        "items.1.quantity": ["Must be at least 1."]}


def test_variants_must_be_sold_by_the_shop_in_its_currency(world):
    errors = errors_of(world, items=(Item("eggs", 1), Item("nope", 1), Item("gone", 1), Item("usd", 1)))
    assert errors["items.1.variant_id"] == ["nope is not available from La Ruche."]
    assert errors["items.2.variant_id"] == ["Old jam is not available from La Ruche."]
    assert errors["items.3.variant_id"] == ["Import is priced in USD, not in the shop's EUR."]


def test_the_same_variant_cannot_be_added_twice(world):
    errors = errors_of(world, items=(Item("eggs", 1), Item("eggs", 2)))
    assert errors["items.1.variant_id"] == ["Eggs - half dozen has already been added; change its quantity instead."]


def test_an_absurd_line_total_is_refused(world):
    errors = errors_of(world, items=(Item("box", 1_000_000_000),))
    assert errors["items.0.quantity"] == ["The estimated total of this line is too large."]


def test_negative_quantities_are_refused(world):
    assert errors_of(world, items=(Item("eggs", -1), Item("box", 1)))["items.0.quantity"] == ["Must not be negative."]


def test_an_unavailable_variant_and_no_upcoming_cycle_are_warnings_not_errors(world):
    ctx = world.ctx(cycles=world.cycles(start=world.now - timedelta(weeks=10)))
    errors, warnings = validate(ctx, world.draft(items=(Item("later", 1),)))
    assert errors == {}
    assert any("Asparagus is currently unavailable" in w for w in warnings)
    assert any("no open or upcoming order cycles" in w for w in warnings)


def test_a_shop_with_subscriptions_disabled_is_a_warning(world):
    _, warnings = validate(world.ctx(shop=world.shop(subscriptions_enabled=False)), world.draft())
    assert warnings == ["Subscriptions are disabled for La Ruche: no order is placed until they are enabled."]


def test_estimates_use_catalog_prices_and_the_shared_fee_rule(world):
    ctx = world.ctx()
    terms = estimate(ctx, world.terms())
    assert [i.price_estimate for i in terms.items] == [320, 2500]
    assert terms.item_total() == 3140
    assert terms.shipping_fee_estimate == 500
    assert terms.payment_fee_estimate == 30 + (3640 * 150 + 5000) // 10000
    assert terms.payment_kind == "stripe"
    assert terms.estimated_total() == 3140 + 500 + terms.payment_fee_estimate


def test_an_estimate_shown_later_follows_the_catalog_and_the_fees_as_they_are_then(world):
    from dataclasses import replace

    from subscription_service.domain.shops import Method
    from subscription_service.domain.validation import Variant, current_estimate

    saved = estimate(world.ctx(), world.terms())
    dearer = {**world.variants(), "eggs": Variant("eggs", "Eggs", "half dozen", 421, "EUR")}
    shop = world.shop()
    shop = replace(shop, shipping_methods={**shop.shipping_methods,
                                           "ship-1": Method("ship-1", "Delivery", 600, 0, active=False, pickup=False)})
    now = current_estimate(shop, dearer, saved)
    assert [i.price_estimate for i in now.items] == [421, 2500]
    assert now.item_total() == 2 * 421 + 2500
    assert now.shipping_fee_estimate == 600, "the method's fee as it is now, chosen or not (as an order is priced)"
    assert now.payment_fee_estimate == 30 + ((2 * 421 + 2500 + 600) * 150 + 5000) // 10000


def test_a_deleted_variant_is_estimated_at_its_last_catalog_price_as_an_order_would_price_it(world):
    terms = estimate(world.ctx(), world.terms(items=(Item("gone", 1, 350), Item("unknown", 2, 75))))
    assert [i.price_estimate for i in terms.items] == [400, 75]


def test_substitutes_must_be_other_products_of_the_shop_each_named_once(world):
    items = (Item("eggs", 2, None, ("eggs", "box", "box", "ghost")), Item("box", 1, None, ("gone", "usd", "eggs")))
    errors = errors_of(world, items=items)
    assert errors["items.0.substitutes"] == ["At most 3 substitutes."]
    assert errors["items.0.substitutes.0"] == ["A product cannot be its own substitute."]
    assert "items.0.substitutes.1" not in errors
    assert errors["items.0.substitutes.2"] == ["Veg box is already a substitute of this product."]
    assert errors["items.0.substitutes.3"] == ["ghost is not available from La Ruche."]
    assert errors["items.1.substitutes.0"] == ["Old jam is not available from La Ruche."]
    assert errors["items.1.substitutes.1"] == ["Import is priced in USD, not in the shop's EUR."]
    assert "items.1.substitutes.2" not in errors


def test_substitutes_are_kept_on_the_items_and_an_unavailable_one_is_accepted(world):
    items = (Item("eggs", 2, None, ("later", "box")), Item("box", 1))
    errors, _ = validate(world.ctx(), world.draft(items=items))
    assert errors == {}
    assert estimate(world.ctx(), world.terms(items=items)).items[0].substitutes == ("later", "box")


def test_an_item_of_quantity_zero_saved_earlier_is_warned_about_and_left_as_it_is(world):
    items = (Item("eggs", 0), Item("box", 1))
    errors, warnings = validate(world.ctx(), world.draft(items=items), items)
    assert errors == {}
    assert warnings == ["Eggs - half dozen has a quantity of 0: orders never include it; change its quantity or "
                        "remove it."]
