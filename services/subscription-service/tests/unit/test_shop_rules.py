import pytest

from subscription_service.domain import shops
from subscription_service.domain.errors import Conflict, Invalid, NotFound

SETTINGS = {"name": "La Ruche", "timezone": "Europe/Paris", "currency": "EUR", "contact_email": "a@b.example"}


def test_a_new_shop_gets_every_setting_with_subscriptions_disabled_by_default(world):
    [event] = shops.create_shop("shop-9", SETTINGS, world.by())
    assert event.event_type == "ShopCreated"
    settings = event.payload["settings"]
    assert set(settings) == set(shops.SETTING_NAMES)
    assert settings["subscriptions_enabled"] is False
    assert settings["allocation_policy"] == "first_come"
    assert event.payload["actor"] == world.by().actor


def test_a_shop_needs_an_iana_time_zone(world):
    with pytest.raises(Invalid) as err:
        shops.create_shop("s", {**SETTINGS, "timezone": "Paris/France"}, world.by())
    assert "timezone" in err.value.errors


@pytest.mark.parametrize("missing", ["name", "timezone", "currency", "contact_email"])
def test_a_shop_needs_its_required_settings(world, missing):
    settings = {k: v for k, v in SETTINGS.items() if k != missing}
    with pytest.raises(Invalid) as err:
        shops.create_shop("s", settings, world.by())
    assert missing in err.value.errors


def test_a_retry_policy_needs_one_increasing_delay_per_retry(world):
    bad = {**SETTINGS, "payment_retry": {"delays_hours": [24], "max_attempts": 3}}
    with pytest.raises(Invalid) as err:
        shops.create_shop("s", bad, world.by())
    assert "payment_retry.delays_hours" in err.value.errors
    with pytest.raises(Invalid):
        shops.create_shop("s", {**SETTINGS, "payment_retry": {"delays_hours": [72, 24], "max_attempts": 3}},
                          world.by())
    shops.create_shop("s", {**SETTINGS, "payment_retry": {"delays_hours": [24, 72], "max_attempts": 3}}, world.by())


def test_an_update_carries_only_the_changed_settings_and_their_previous_values(world):
    shop = world.shop()
    [event] = shops.update_shop(shop, {"subscriptions_enabled": False, "name": "La Ruche"}, world.by(),
                                has_subscriptions=False)
    assert event.payload["changes"] == {"subscriptions_enabled": False}
    assert event.payload["previous"] == {"subscriptions_enabled": True}


def test_an_update_that_changes_nothing_records_nothing(world):
    assert shops.update_shop(world.shop(), {"name": "La Ruche"}, world.by(), has_subscriptions=False) == []


def test_the_currency_cannot_change_once_the_shop_has_subscriptions(world):
    with pytest.raises(Conflict):
        shops.update_shop(world.shop(), {"currency": "GBP"}, world.by(), has_subscriptions=True)
    [event] = shops.update_shop(world.shop(), {"currency": "GBP"}, world.by(), has_subscriptions=False)
    assert event.payload["changes"] == {"currency": "GBP"}


def test_a_new_shipping_method_gets_defaults_and_a_payment_method_must_be_cash_or_stripe(world):
    shop = world.shop()
    [event] = shops.save_method(shop, "shipping", "m-9", {"name": "Pickup", "fee_flat": 0, "fee_percent_bp": 0},
                                world.by(), new=True)
    assert event.event_type == "ShippingMethodSaved"
    assert event.payload["active"] is True and event.payload["pickup"] is False
    with pytest.raises(Invalid) as err:
        shops.save_method(shop, "payment", "m-8", {"name": "Bitcoin", "fee_flat": 0, "fee_percent_bp": 0,
                                                   "kind": "crypto"}, world.by(), new=True)
    assert err.value.errors["kind"] == ["Must be a Cash or Stripe method."]


def test_changing_a_method_sends_the_whole_method_and_no_change_sends_nothing(world):
    shop = world.shop()
    [event] = shops.save_method(shop, "payment", "card-1", {"fee_flat": 35}, world.by(), new=False)
    assert event.payload["fee_flat"] == 35 and event.payload["kind"] == "stripe" and event.payload["name"] == "Card"
    assert shops.save_method(shop, "payment", "card-1", {"fee_flat": 30}, world.by(), new=False) == []


def test_a_removed_or_unknown_method_is_not_found(world):
    with pytest.raises(NotFound):
        shops.remove_method(world.shop(), "payment", "gone-1", world.by())
    with pytest.raises(NotFound):
        shops.save_method(world.shop(), "shipping", "nope", {"fee_flat": 1}, world.by(), new=False)
    [event] = shops.remove_method(world.shop(), "shipping", "ship-1", world.by())
    assert event.event_type == "ShippingMethodRemoved"


@pytest.mark.parametrize("name", ["localtime", "Factory", "posixrules", "US/Eastern", "Asia/Calcutta", "GMT",
                                  "right/UTC", "zone.tab"])
def test_a_shop_time_zone_is_a_canonical_iana_name_not_a_file_or_an_alias(world, name):
    with pytest.raises(Invalid) as err:
        shops.create_shop("s", {**SETTINGS, "timezone": name}, world.by())
    assert list(err.value.errors) == ["timezone"]


def test_an_alias_is_refused_with_the_name_to_use(world):
    with pytest.raises(Invalid) as err:
        shops.update_shop(world.shop(), {"timezone": "US/Eastern"}, world.by(), has_subscriptions=False)
    assert "'America/New_York'" in err.value.errors["timezone"][0]


@pytest.mark.parametrize("name", ["Europe/Paris", "Europe/Amsterdam", "Asia/Kolkata", "America/New_York", "UTC",
                                  "Etc/UTC", "Australia/Lord_Howe"])
def test_canonical_zones_and_the_locations_iana_lists_by_country_are_accepted(world, name):
    [event] = shops.create_shop("s", {**SETTINGS, "timezone": name}, world.by())
    assert event.payload["settings"]["timezone"] == name


@pytest.mark.parametrize("code", ["XXX", "ZZZ", "XTS", "XAU", "HRK", "eur"])
def test_a_shop_currency_is_an_iso_4217_code_in_use_not_any_three_letters(world, code):
    with pytest.raises(Invalid) as err:
        shops.create_shop("s", {**SETTINGS, "currency": code}, world.by())
    assert list(err.value.errors) == ["currency"]
    with pytest.raises(Invalid):
        shops.update_shop(world.shop(), {"currency": code}, world.by(), has_subscriptions=False)


@pytest.mark.parametrize("code", ["EUR", "GBP", "USD", "CHF", "JPY", "XOF"])
def test_currencies_in_use_are_accepted(world, code):
    [event] = shops.create_shop("s", {**SETTINGS, "currency": code}, world.by())
    assert event.payload["settings"]["currency"] == code
