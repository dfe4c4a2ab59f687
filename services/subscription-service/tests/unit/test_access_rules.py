import pytest

from servicekit.auth import EMAIL_SIGN_IN, Principal
from subscription_service.domain import access
from subscription_service.domain.errors import Forbidden, NotFound


def test_a_manager_of_another_shop_is_told_the_shop_does_not_exist(manager):
    with pytest.raises(NotFound):
        access.see_shop(manager, "shop-2")
    with pytest.raises(NotFound):
        access.manage_shop(manager, "shop-2")


def test_the_admin_sees_and_manages_every_shop(admin):
    access.see_shop(admin, "any")
    access.manage_shop(admin, "any")


def test_a_customer_calling_a_manager_action_on_their_own_shop_gets_forbidden(customer_p):
    access.see_shop(customer_p, "shop-1")
    with pytest.raises(Forbidden):
        access.manage_shop(customer_p, "shop-1")


def test_a_customer_sees_only_themself(customer_p):
    access.see_customer(customer_p, "shop-1", "cust-1")
    with pytest.raises(NotFound):
        access.see_customer(customer_p, "shop-1", "cust-2")
    with pytest.raises(NotFound):
        access.see_subscription(customer_p, "shop-1", "cust-2")


def test_only_the_customer_in_a_session_opened_by_email_may_act_on_their_card_and_consent(manager, admin,
                                                                                        customer_p):
    in_person = Principal("customer", "s", frozenset({"shop-1"}), "cust-1", EMAIL_SIGN_IN)
    access.act_in_person(in_person, "shop-1", "cust-1")
    for who in (customer_p, manager, admin):  # a customer token a manager issued, managers, the admin
        with pytest.raises(Forbidden) as err:
            access.act_in_person(who, "shop-1", "cust-1")
        assert "link emailed to their own address" in err.value.message
    with pytest.raises(NotFound):
        access.act_in_person(Principal("customer", "t", frozenset({"shop-1"}), "cust-2", EMAIL_SIGN_IN), "shop-1",
                             "cust-1")


def test_managers_edit_a_customer_and_the_customer_in_person_edits_themself(customer_p, manager, admin):
    in_person = Principal("customer", "s", frozenset({"shop-1"}), "cust-1", EMAIL_SIGN_IN)
    assert access.edit_customer(in_person, "shop-1", "cust-1") is True
    assert access.edit_customer(manager, "shop-1", "cust-1") is False
    assert access.edit_customer(admin, "shop-1", "cust-1") is False
    with pytest.raises(Forbidden):  # a customer token a manager issued
        access.edit_customer(customer_p, "shop-1", "cust-1")
    with pytest.raises(NotFound):
        access.edit_customer(in_person, "shop-1", "cust-2")


def test_customers_skip_only_when_the_shop_allows_it(customer_p, manager):
    access.change_occurrence(manager, "shop-1", "cust-9", customers_may_skip=False)
    access.change_occurrence(customer_p, "shop-1", "cust-1", customers_may_skip=True)
    with pytest.raises(Forbidden):
        access.change_occurrence(customer_p, "shop-1", "cust-1", customers_may_skip=False)
    with pytest.raises(NotFound):
        access.change_occurrence(customer_p, "shop-1", "cust-2", customers_may_skip=True)


def test_only_the_admin_passes_admin_only(admin, manager):
    access.admin_only(admin)
    with pytest.raises(Forbidden):
        access.admin_only(manager)
