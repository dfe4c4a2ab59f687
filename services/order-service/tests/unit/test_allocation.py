"""Sharing scarce stock between the claims of one placement run (pure)."""

import pytest

from order_service.domain.allocation import Claim, allocate
from order_service.domain.model import Stock


def claims(*quantities, variant="eggs"):
    return [Claim(rank, 0, variant, q) for rank, q in enumerate(quantities)]


def test_first_come_serves_earlier_claims_in_full_and_the_next_with_what_is_left():
    given = allocate(claims(3, 3, 3), Stock({"eggs": 7}), "first_come")
    assert [given[(r, 0)] for r in range(3)] == [3, 3, 1]


def test_first_come_follows_rank_not_the_order_claims_are_listed_in():
    listed = list(reversed(claims(4, 4)))
    given = allocate(listed, Stock({"eggs": 5}), "first_come")
    assert given[(0, 0)] == 4 and given[(1, 0)] == 1


def test_fair_share_is_proportional_to_demand():
    given = allocate(claims(2, 4, 6), Stock({"eggs": 6}), "fair_share")
    assert [given[(r, 0)] for r in range(3)] == [1, 2, 3]


def test_fair_share_gives_the_rounding_leftovers_to_the_largest_remainders_then_to_the_better_rank():
    # 10 units for 3 x 4 = 12: each is owed 3.33, floors give 9, the one unit left goes to rank 0
    given = allocate(claims(4, 4, 4), Stock({"eggs": 10}), "fair_share")
    assert [given[(r, 0)] for r in range(3)] == [4, 3, 3]
    # 5 units for 1 + 3 + 6 = 10: owed 0.5, 1.5, 3.0; floors 0, 1, 3 leave 1 unit; remainders tie at .5 -> rank 0
    given = allocate(claims(1, 3, 6), Stock({"eggs": 5}), "fair_share")
    assert [given[(r, 0)] for r in range(3)] == [1, 1, 3]


@pytest.mark.parametrize("stock", [0, 1, 5, 11, 17, 29])
def test_fair_share_hands_out_all_the_stock_and_never_more_than_asked(stock):
    wanted = (5, 1, 7, 3, 9)
    given = allocate(claims(*wanted), Stock({"eggs": stock}), "fair_share")
    assert sum(given.values()) == min(stock, sum(wanted))
    assert all(given[(r, 0)] <= q for r, q in enumerate(wanted))


@pytest.mark.parametrize("policy", ["first_come", "fair_share"])
def test_enough_or_unlimited_stock_serves_everyone_in_full(policy):
    for stock in (Stock({"eggs": 100}), Stock({"eggs": None})):
        given = allocate(claims(3, 5), stock, policy)
        assert given == {(0, 0): 3, (1, 0): 5}


@pytest.mark.parametrize("policy", ["first_come", "fair_share"])
def test_an_unknown_variant_or_negative_stock_gives_nothing(policy):
    assert allocate(claims(3, variant="ghost"), Stock({}), policy) == {(0, 0): 0}
    assert allocate(claims(3), Stock({"eggs": -4}), policy) == {(0, 0): 0}


def test_variants_are_shared_independently():
    mixed = [Claim(0, 0, "eggs", 2), Claim(0, 1, "milk", 5), Claim(1, 0, "eggs", 2), Claim(1, 1, "milk", 1)]
    given = allocate(mixed, Stock({"eggs": 3, "milk": 5}), "first_come")
    assert given == {(0, 0): 2, (1, 0): 1, (0, 1): 5, (1, 1): 0}


def test_the_same_claims_always_get_the_same_allocation():
    runs = {tuple(sorted(allocate(claims(3, 2, 7, 1), Stock({"eggs": 6}), "fair_share").items())) for _ in range(5)}
    assert len(runs) == 1


def test_an_unknown_policy_is_refused():
    with pytest.raises(ValueError, match="policy"):
        allocate(claims(1), Stock({"eggs": 1}), "lottery")
