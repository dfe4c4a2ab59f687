from datetime import UTC, datetime

import pytest

from subscription_service.domain import consent, customers
from subscription_service.domain.customers import Card, Consent, PaymentMethodFacts, SetupFacts
from subscription_service.domain.errors import Conflict, Forbidden, Invalid

NOW = datetime(2026, 3, 25, 12, 0, tzinfo=UTC)


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


@pytest.mark.parametrize("proven", [{"signed_in_by_email": True}, {"card": Card("cus_1", "pm_1")},
                                    {"card": Card("cus_1", "pm_1"), "allow_charges": True}])
def test_an_email_address_the_customer_proved_is_theirs_alone_to_change(world, proven):
    c = world.customer(**{"card": None, "allow_charges": False, **proven})
    assert c.email_proven
    with pytest.raises(Forbidden) as err:
        customers.update_customer(c, {"email": "mallory@example.org"}, world.by(), email_taken=False)
    assert err.value.message == customers.EMAIL_IS_THEIRS
    [event] = customers.update_customer(c, {"email": "Camille.New@example.org"}, world.by(), email_taken=False,
                                        in_person=True)
    assert event.payload["changes"] == {"email": "camille.new@example.org"}
    [renamed] = customers.update_customer(c, {"last_name": "Martin"}, world.by(), email_taken=False)
    assert renamed.payload["changes"] == {"last_name": "Martin"}


def test_a_manager_corrects_an_address_never_proven_and_a_customer_changes_only_their_email(world):
    c = world.customer(card=None, allow_charges=False)
    assert not c.email_proven
    [event] = customers.update_customer(c, {"email": "fixed@example.org"}, world.by(), email_taken=False)
    assert event.payload["changes"] == {"email": "fixed@example.org"}
    with pytest.raises(Forbidden) as err:
        customers.update_customer(c, {"email": "me@example.org", "last_name": "Me"}, world.by(), email_taken=False,
                                  in_person=True)
    assert err.value.message == customers.CUSTOMER_EDITS


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


def said(kind="allow"):
    return Consent(NOW, "email_sign_in_link", "tok-s", consent.text(kind, "fr", "La Ruche"), "fr", "c@example.org")


def test_charges_can_only_be_allowed_on_a_default_card(world):
    with pytest.raises(Conflict):
        customers.allow_charges(world.customer(card=None, allow_charges=False), said(), world.by())
    [event] = customers.allow_charges(world.customer(allow_charges=False), said(), world.by())
    assert event.payload["payment_method_id"] == "pm_1"
    assert event.payload["consent"] == {"at": NOW, "method": "email_sign_in_link", "session_id": "tok-s",
                                        "text": consent.text("allow", "fr", "La Ruche"), "locale": "fr",
                                        "email": "c@example.org"}
    assert customers.allow_charges(world.customer(), said(), world.by()) == []


def test_revoking_charges_that_were_not_allowed_changes_nothing(world):
    assert customers.revoke_charges(world.customer(allow_charges=False), said("withdraw"), world.by()) == []
    [event] = customers.revoke_charges(world.customer(), said("withdraw"), world.by())
    assert event.event_type == "CustomerChargesRevoked"
    assert event.payload["consent"]["text"].startswith("Je retire")


def setup(status="succeeded", customer="cus_1", pm="pm_9"):
    return SetupFacts("seti_1", status, customer, pm)


def card_pm(customer="cus_1", pm="pm_9"):
    return PaymentMethodFacts(pm, customer, "visa", "3155", 12, 2034)


def test_a_card_is_taken_from_a_succeeded_setup_on_the_customers_own_stripe_customer(world):
    card = customers.card_from_setup(world.customer(), setup(), card_pm())
    assert card == Card("cus_1", "pm_9", "visa", "3155", 12, 2034, "seti_1")


def test_a_setup_or_a_card_of_another_stripe_customer_is_forbidden(world):
    with pytest.raises(Forbidden, match="not yours"):
        customers.card_from_setup(world.customer(), setup(customer="cus_other"), card_pm())
    with pytest.raises(Forbidden, match="someone else"):
        customers.card_from_setup(world.customer(), setup(), card_pm(customer="cus_other"))
    with pytest.raises(Forbidden):
        customers.card_from_setup(world.customer(), setup(), card_pm(pm="pm_other"))


def test_only_the_payment_method_of_a_finished_setup_of_ones_own_is_looked_up(world):
    assert customers.payment_method_wanted(world.customer(), setup()) == "pm_9"
    assert customers.payment_method_wanted(world.customer(), setup(customer="cus_other")) is None
    assert customers.payment_method_wanted(world.customer(), setup(status="requires_action")) is None
    assert customers.payment_method_wanted(world.customer(stripe_customer_id=None), setup(customer=None)) is None
    assert customers.payment_method_wanted(world.customer(), None) is None


def test_an_unfinished_or_unknown_setup_is_invalid_and_none_before_a_stripe_customer_exists(world):
    with pytest.raises(Invalid) as err:
        customers.card_from_setup(world.customer(), setup(status="requires_action"), card_pm())
    assert "requires_action" in err.value.errors["setup_intent_id"][0]
    with pytest.raises(Invalid):
        customers.card_from_setup(world.customer(), None, None)
    with pytest.raises(Conflict):
        customers.card_from_setup(world.customer(stripe_customer_id=None), setup(), card_pm())


def test_the_platform_opens_one_stripe_customer_per_customer(world):
    [event] = customers.open_stripe_customer(world.customer(stripe_customer_id=None), "cus_9", world.by())
    assert event.event_type == "StripeCustomerCreated" and event.payload["stripe_customer_id"] == "cus_9"
    with pytest.raises(Conflict):
        customers.open_stripe_customer(world.customer(), "cus_10", world.by())


def test_the_consent_text_is_the_named_language_else_the_customers_else_the_shops():
    assert consent.language("en", "fr", "fr") == "en"
    assert consent.language(None, "fr", "en") == "fr"
    assert consent.language(None, None, "fr") == "fr"
    assert consent.language(None, None, None) == "en"
    assert "La Ruche" in consent.text("allow", "fr", "La Ruche") and consent.text("allow", "en", "X").startswith("I")


def test_a_customer_with_subscriptions_not_cancelled_cannot_be_deleted(world):
    with pytest.raises(Conflict) as err:
        customers.delete_customer(world.customer(), 2, world.by())
    assert "Cancel them first" in err.value.message
    [event] = customers.delete_customer(world.customer(), 0, world.by())
    assert event.event_type == "CustomerDeleted"
