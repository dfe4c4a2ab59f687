"""A shop's tax settings (prices including tax or not, a rate per category, methods' categories) and the tax of a
subscription's estimate (pure)."""

from dataclasses import replace

import pytest

from shared_events.money import lines_totals
from subscription_service.domain import shops
from subscription_service.domain.errors import Invalid
from subscription_service.domain.shops import Method
from subscription_service.domain.validation import Variant, estimate

FRANCE = [{"category": "reduced", "rate_bp": 550}, {"category": "standard", "rate_bp": 2000}]


def _taxed_world_shop(world, **settings):
    shop = world.shop(tax_rates=FRANCE, **settings)
    return replace(shop, shipping_methods={**shop.shipping_methods, "ship-1": Method(
        "ship-1", "Delivery", 500, 0, pickup=False, tax_category="standard")})


def test_a_new_shop_has_prices_excluding_tax_and_no_rates_unless_it_says(world):
    [event] = shops.create_shop("s", {"name": "R", "timezone": "Europe/Paris", "currency": "EUR",
                                      "contact_email": "a@b.example"}, world.by())
    assert event.payload["settings"]["prices_include_tax"] is False
    assert event.payload["settings"]["tax_rates"] == []


def test_a_category_given_two_rates_is_refused_on_the_second(world):
    with pytest.raises(Invalid) as err:
        shops.update_shop(world.shop(), {"tax_rates": [*FRANCE, {"category": "reduced", "rate_bp": 1000}]},
                          world.by(), has_subscriptions=False)
    assert list(err.value.errors) == ["tax_rates.2.category"]


def test_a_method_cannot_name_a_category_the_shop_has_no_rate_for(world):
    with pytest.raises(Invalid) as err:
        shops.save_method(world.shop(tax_rates=FRANCE), "shipping", "ship-1", {"tax_category": "luxury"},
                          world.by(), new=False)
    assert list(err.value.errors) == ["tax_category"]
    [event] = shops.save_method(world.shop(tax_rates=FRANCE), "shipping", "ship-1", {"tax_category": "standard"},
                                world.by(), new=False)
    assert event.payload["tax_category"] == "standard"


def test_a_new_method_is_untaxed_by_default(world):
    [event] = shops.save_method(world.shop(), "payment", "p-9", {"name": "Cheque", "fee_flat": 0,
                                                                 "fee_percent_bp": 0, "kind": "cash"},
                                world.by(), new=True)
    assert event.payload["tax_category"] is None


def test_the_rate_of_a_category_a_method_uses_cannot_be_removed(world):
    with pytest.raises(Invalid) as err:
        shops.update_shop(_taxed_world_shop(world), {"tax_rates": FRANCE[:1]}, world.by(), has_subscriptions=False)
    assert list(err.value.errors) == ["tax_rates"]


def test_a_shop_from_before_tax_turning_prices_including_tax_off_changes_nothing(world):
    old = replace(world.shop(), settings={k: v for k, v in world.shop().settings.items()
                                          if k not in ("prices_include_tax", "tax_rates")})
    assert shops.update_shop(old, {"prices_include_tax": False, "tax_rates": []}, world.by(),
                             has_subscriptions=False) == []
    [event] = shops.update_shop(old, {"prices_include_tax": True}, world.by(), has_subscriptions=False)
    assert event.payload["previous"] == {"prices_include_tax": False}


def _taxed_variants(world):
    return {**world.variants(), "eggs": Variant("eggs", "Eggs", "half dozen", 320, "EUR", tax_category="reduced"),
            "box": Variant("box", "Veg box", None, 2500, "EUR", tax_category="standard")}


def test_an_estimate_of_a_shop_whose_prices_include_tax_says_its_tax_and_keeps_its_total(world):
    ctx = world.ctx(shop=_taxed_world_shop(world, prices_include_tax=True), variants=_taxed_variants(world))
    terms = estimate(ctx, world.terms())
    expected = lines_totals([(640, 550), (2500, 2000)], (500, 0), (30, 150), shipping_tax_bp=2000,
                            prices_include_tax=True)
    assert terms.tax_estimate == expected["tax_total"] == 33 + 417 + 83
    assert terms.estimated_total() == expected["total"] == 3140 + 500 + terms.payment_fee_estimate


def test_an_estimate_of_a_shop_whose_prices_exclude_tax_adds_it_to_the_total(world):
    ctx = world.ctx(shop=_taxed_world_shop(world), variants=_taxed_variants(world))
    terms = estimate(ctx, world.terms())
    assert terms.tax_estimate == 35 + 500 + 100
    assert terms.estimated_total() == 3140 + 500 + terms.payment_fee_estimate + 635
    assert "tax_estimate" not in terms.data(), "an estimate's tax is taken when shown, never recorded"
