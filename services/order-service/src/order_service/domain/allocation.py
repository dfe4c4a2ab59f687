"""How scarce stock is shared between the orders of one placement run. Pure and deterministic.

Claimants are ranked first come, first served: the subscription created first has rank 0 (its
creation rank in the shop, SubscriptionCreated.sequence, else its creation time; ties broken by
subscription id), as the reference serves its proxy orders in id order.

- ``first_come``: each claim, in rank order (then line order), gets what it asks for while stock
  lasts; the first claim that does not fit gets what is left, the later ones nothing.
- ``fair_share``: per variant, when demand D exceeds the stock S, every claim of q units gets
  floor(S * q / D) (its proportional share, rounded down); the units left by rounding go one each
  to the claims with the largest remainders (S * q mod D), ties to the better rank (then line).
  No claim ever gets more than it asked for, and all of S is handed out (largest remainder method).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from order_service.domain.model import Stock

POLICIES = ("first_come", "fair_share")

Allocation = dict[tuple[int, int], int]


@dataclass(frozen=True)
class Claim:
    rank: int  # the claimant's place in first-come order (0 = served first)
    index: int  # the line's place in the claimant's order
    variant_id: str
    quantity: int


def allocate(claims: Iterable[Claim], stock: Stock, policy: str) -> Allocation:
    """Units given to each claim, keyed by (rank, index). ``stock`` is not changed."""
    if policy not in POLICIES:
        raise ValueError(f"unknown allocation policy {policy!r}")
    by_variant: dict[str, list[Claim]] = {}
    for claim in claims:
        by_variant.setdefault(claim.variant_id, []).append(claim)
    given: Allocation = {}
    for variant_id, wanted in by_variant.items():
        wanted.sort(key=lambda c: (c.rank, c.index))
        share = _fair_share if policy == "fair_share" else _first_come
        given.update(share(wanted, stock.available(variant_id)))
    return given


def _first_come(claims: list[Claim], available: int | None) -> Allocation:
    given: Allocation = {}
    for claim in claims:
        units = claim.quantity if available is None else min(claim.quantity, available)
        given[(claim.rank, claim.index)] = units
        if available is not None:
            available -= units
    return given


def _fair_share(claims: list[Claim], available: int | None) -> Allocation:
    demand = sum(c.quantity for c in claims)
    if available is None or available >= demand:
        return {(c.rank, c.index): c.quantity for c in claims}
    if available <= 0:
        return {(c.rank, c.index): 0 for c in claims}
    given = {(c.rank, c.index): available * c.quantity // demand for c in claims}
    left = available - sum(given.values())
    by_remainder = sorted(claims, key=lambda c: (-(available * c.quantity % demand), c.rank, c.index))
    for claim in by_remainder[:left]:
        given[(claim.rank, claim.index)] += 1
    return given
