from datetime import timedelta

import pytest

from servicekit.auth import Principal
from subscription_service.domain import tokens
from subscription_service.domain.errors import Conflict, Forbidden, Invalid, NotFound
from subscription_service.domain.tokens import Token, TokenRequest

HASH = "ab" * 32


def issue(world, p, req, unknown=frozenset(), customer_known=True):
    return tokens.issue_token(p, req, "tok-new", HASH, world.by(), unknown_shops=set(unknown),
                              customer_known=customer_known)


def test_the_admin_issues_manager_tokens_for_existing_shops(world, admin, manager):
    [event] = issue(world, admin, TokenRequest("manager", ("shop-1",), label="Camille"))
    assert event.payload["token_hash"] == HASH and event.payload["customer_id"] is None
    with pytest.raises(Invalid):
        issue(world, admin, TokenRequest("manager", ("shop-x",)), unknown={"shop-x"})
    with pytest.raises(Invalid):
        issue(world, admin, TokenRequest("manager", ()))
    with pytest.raises(Forbidden):
        issue(world, manager, TokenRequest("manager", ("shop-1",)))


def test_admin_tokens_are_never_issued(world, admin):
    with pytest.raises(Invalid):
        issue(world, admin, TokenRequest("admin", ()))


def test_a_manager_issues_customer_tokens_for_their_own_shop_only(world, manager, customer_p):
    [event] = issue(world, manager, TokenRequest("customer", ("shop-1",), "cust-1"))
    assert event.payload["customer_id"] == "cust-1"
    with pytest.raises(NotFound):
        issue(world, manager, TokenRequest("customer", ("shop-2",), "cust-1"))
    with pytest.raises(Invalid):
        issue(world, manager, TokenRequest("customer", ("shop-1",), "cust-9"), customer_known=False)
    with pytest.raises(Forbidden):
        issue(world, customer_p, TokenRequest("customer", ("shop-1",), "cust-1"))
    with pytest.raises(Invalid):
        issue(world, manager, TokenRequest("customer", ("shop-1", "shop-2"), "cust-1"))


def test_a_token_cannot_expire_in_the_past(world, admin):
    with pytest.raises(Invalid):
        issue(world, admin, TokenRequest("manager", ("shop-1",), expires_at=world.now - timedelta(seconds=1)))


def test_revoking_follows_who_may_see_the_token(world, admin, manager, customer_p):
    cust_tok = Token("tok-c", "customer", ("shop-1",), "cust-1", 1)
    other_shop = Token("tok-x", "customer", ("shop-2",), "cust-7", 1)
    other_manager = Token("tok-m2", "manager", ("shop-1",), None, 1)
    assert tokens.revoke_token(manager, cust_tok, world.by())[0].event_type == "TokenRevoked"
    assert tokens.revoke_token(customer_p, cust_tok, world.by())
    assert tokens.revoke_token(admin, other_manager, world.by())
    with pytest.raises(NotFound):
        tokens.revoke_token(manager, other_shop, world.by())
    with pytest.raises(NotFound):
        tokens.revoke_token(manager, other_manager, world.by())
    with pytest.raises(NotFound):
        tokens.revoke_token(Principal("customer", "tok-c2", frozenset({"shop-1"}), "cust-2"), cust_tok, world.by())
    with pytest.raises(Conflict):
        tokens.revoke_token(admin, Token("t", "manager", ("shop-1",), None, 2, revoked=True), world.by())
