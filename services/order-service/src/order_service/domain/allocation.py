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

Substitutes (``allocate_with_substitutes``): a claim that gets nothing of its own variant (deleted,
unavailable, or no stock left for it) gets its first substitute that still has stock, for up to the units it
asked; a substitute is a line like any other, capped to stock and shared by the same policy. A claim that got
some, but not all, of its own variant keeps what it got (a capped line).
- ``first_come``: claims are served one after the other in rank order, each from its own variant, else its
  first substitute with stock left. So a run placed in slices in rank order, stock carried over, allocates
  exactly what the whole run would.
- ``fair_share``: in rounds. Round 0 shares each variant among the claims naming it; round k shares what is
  left among the claims still unserved, each asking for its k-th substitute. A customer who asked for a
  variant by name gets their share of it before it is shared among those taking it as a substitute.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from order_service.domain.model import Stock

POLICIES = ("first_come", "fair_share")

Allocation = dict[tuple[int, int], int]


@dataclass(frozen=True)
class Claim:
    rank: int  # the claimant's place in first-come order (0 = served first)
    index: int  # the line's place in the claimant's order
    variant_id: str
    quantity: int
    substitutes: tuple[str, ...] = ()  # variant ids in order of preference


@dataclass(frozen=True)
class Pick:
    """What a claim gets: ``units`` of ``variant_id`` (its own variant, or the substitute placed instead)."""

    variant_id: str
    units: int


Picks = dict[tuple[int, int], Pick]


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


def allocate_with_substitutes(claims: Iterable[Claim], stock: Stock, policy: str) -> Picks:
    """The variant and units each claim gets, keyed by (rank, index), substitutes taken by the policy's rule
    (module docstring). A claim that gets nothing anywhere keeps its own variant at 0 units. ``stock`` is not
    changed."""
    if policy not in POLICIES:
        raise ValueError(f"unknown allocation policy {policy!r}")
    pick = _first_come_picks if policy == "first_come" else _fair_share_picks
    return pick(list(claims), stock.copy())


def _first_come_picks(claims: list[Claim], left: Stock) -> Picks:
    picks: Picks = {}
    for claim in sorted(claims, key=lambda c: (c.rank, c.index)):
        chosen = Pick(claim.variant_id, 0)
        for variant_id in (claim.variant_id, *claim.substitutes):
            units = left.cap(variant_id, claim.quantity)
            if units > 0:
                chosen = Pick(variant_id, units)
                left.take(variant_id, units)
                break
        picks[(claim.rank, claim.index)] = chosen
    return picks


def _fair_share_picks(claims: list[Claim], left: Stock) -> Picks:
    picks: Picks = {}
    unserved = claims
    round_ = 0
    while unserved:
        asking = [replace(c, variant_id=c.substitutes[round_ - 1]) if round_ else c
                  for c in unserved if round_ <= len(c.substitutes)]
        if not asking:
            break
        given = allocate(asking, left, "fair_share")
        for claim in asking:
            units = given[(claim.rank, claim.index)]
            if units > 0:
                picks[(claim.rank, claim.index)] = Pick(claim.variant_id, units)
                left.take(claim.variant_id, units)
        unserved = [c for c in unserved if (c.rank, c.index) not in picks]
        round_ += 1
    for claim in unserved:
        picks[(claim.rank, claim.index)] = Pick(claim.variant_id, 0)
    return picks
