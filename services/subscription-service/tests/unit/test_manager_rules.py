from datetime import UTC, datetime, timedelta

import pytest

from subscription_service.domain import managers, tokens
from subscription_service.domain.common import By
from subscription_service.domain.errors import Conflict, NotFound, Unauthenticated
from subscription_service.domain.managers import Manager
from subscription_service.domain.readiness import ShopFacts, readiness
from subscription_service.domain.shops import Shop
from subscription_service.domain.tokens import SignInLink

NOW = datetime(2026, 3, 16, 10, tzinfo=UTC)
BY = By(actor={"type": "admin", "id": "admin"}, now=NOW)
SHOP = Shop("shop-1", 3, {"name": "La Ruche"})
ALEX = Manager("m-1", "shop-1", "alex@example.org")


def test_a_manager_is_added_by_their_address_trimmed_and_lower_cased():
    [event] = managers.add_manager(SHOP, [], "m-2", " Sam@Example.ORG ", BY)
    assert event.event_type == "ShopManagerAdded"
    assert {k: event.payload[k] for k in ("shop_id", "manager_id", "email")} == {
        "shop_id": "shop-1", "manager_id": "m-2", "email": "sam@example.org"}


def test_an_address_that_already_manages_the_shop_is_refused_by_its_field():
    with pytest.raises(Conflict) as refused:
        managers.add_manager(SHOP, [ALEX], "m-2", "ALEX@example.org", BY)
    assert "already a manager" in refused.value.errors["email"][0]


def test_removing_names_the_managers_address_and_refuses_one_who_is_not_there():
    [event] = managers.remove_manager(SHOP, [ALEX], "m-1", BY)
    assert event.event_type == "ShopManagerRemoved" and event.payload["email"] == "alex@example.org"
    with pytest.raises(NotFound):
        managers.remove_manager(SHOP, [ALEX], "m-9", BY)


def test_a_managers_link_opens_a_session_for_the_shops_they_manage_marked_as_obtained_by_email():
    link = SignInLink("link-1", None, None, "alex@example.org", "manager")
    [event] = tokens.open_manager_session(link, ["shop-2", "shop-1"], "tok-1", "ab" * 32, NOW, timedelta(days=30))
    p = event.payload
    assert (p["role"], p["shop_ids"], p["customer_id"], p["obtained_by"], p["sign_in_link_id"]) == (
        "manager", ["shop-1", "shop-2"], None, "email_sign_in_link", "link-1")
    assert p["expires_at"] == NOW + timedelta(days=30)
    with pytest.raises(Unauthenticated):  # a manager of no shop any more
        tokens.open_manager_session(link, [], "tok-1", "ab" * 32, NOW, timedelta(days=30))


def test_the_checklist_lists_each_point_in_order_and_is_ready_only_when_all_are_done():
    done = ShopFacts(True, 1, 2, 1, 1)
    assert readiness(done) == {"ready": True, "checks": [
        {"name": n, "done": True} for n in ("subscriptions_enabled", "shipping_method", "payment_method",
                                             "customers", "schedule")]}
    no_schedule = readiness(ShopFacts(True, 1, 1, 5, 0))
    assert not no_schedule["ready"] and [c["name"] for c in no_schedule["checks"] if not c["done"]] == ["schedule"]
    assert not readiness(ShopFacts(False, 1, 1, 1, 1))["ready"]
