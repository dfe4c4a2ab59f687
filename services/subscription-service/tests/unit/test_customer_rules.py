import pytest

from subscription_service.domain import customers
from subscription_service.domain.customers import Card
from subscription_service.domain.errors import Conflict, Invalid


def test_a_new_customer_has_a_normalised_email_and_every_detail(world):
    [event] = customers.create_customer("c-9", "shop-1", {"email": " Camille@Example.ORG ", "first_name": "C",
                                                          "last_name": "D"}, world.by(), email_taken=False)
    assert event.payload["details"]["email"] == "camille@example.org"
    assert event.payload["details"]["bill_address"] is None


def test_an_email_is_unique_in_a_shop(world):
    with pytest.raises(Conflict) as err:
        customers.create_customer("c-9", "shop-1", {"email": "x@y.example", "first_name": "C", "last_name": "D"},
                                  world.by(), email_taken=True)
    assert "email" in err.value.errors


def test_a_customer_needs_email_and_names(world):
    with pytest.raises(Invalid) as err:
        customers.create_customer("c", "shop-1", {"email": "x@y.example"}, world.by(), email_taken=False)
    assert set(err.value.errors) == {"first_name", "last_name"}


def test_an_update_keeps_only_changes(world):
    c = world.customer()
    [event] = customers.update_customer(c, {"last_name": "Martin", "first_name": "Camille"}, world.by(),
                                        email_taken=False)
    assert event.payload["changes"] == {"last_name": "Martin"}
    assert event.payload["previous"] == {"last_name": "Durand"}
    assert customers.update_customer(c, {"email": "CAMILLE@example.org"}, world.by(), email_taken=True) == []


def test_a_new_default_card_revokes_the_charge_permission(world):
    events = customers.set_card(world.customer(), Card("cus_1", "pm_2"), world.by())
    assert [e.event_type for e in events] == ["CustomerCardSet", "CustomerChargesRevoked"]


def test_setting_the_same_card_again_changes_nothing(world):
    assert customers.set_card(world.customer(), Card("cus_1", "pm_1", "visa", "4242"), world.by()) == []


def test_removing_the_card_revokes_the_permission_and_needs_a_card(world):
    events = customers.remove_card(world.customer(), world.by())
    assert [e.event_type for e in events] == ["CustomerCardRemoved", "CustomerChargesRevoked"]
    with pytest.raises(Conflict):
        customers.remove_card(world.customer(card=None, allow_charges=False), world.by())


def test_charges_can_only_be_allowed_on_a_default_card(world):
    with pytest.raises(Conflict):
        customers.allow_charges(world.customer(card=None, allow_charges=False), world.by())
    [event] = customers.allow_charges(world.customer(allow_charges=False), world.by())
    assert event.payload["payment_method_id"] == "pm_1"
    assert customers.allow_charges(world.customer(), world.by()) == []


def test_revoking_charges_that_were_not_allowed_changes_nothing(world):
    assert customers.revoke_charges(world.customer(allow_charges=False), world.by()) == []
    [event] = customers.revoke_charges(world.customer(), world.by())
    assert event.event_type == "CustomerChargesRevoked"


def test_a_customer_with_subscriptions_not_cancelled_cannot_be_deleted(world):
    with pytest.raises(Conflict) as err:
        customers.delete_customer(world.customer(), 2, world.by())
    assert "Cancel them first" in err.value.message
    [event] = customers.delete_customer(world.customer(), 0, world.by())
    assert event.event_type == "CustomerDeleted"
