"""Which OrderDue events a boundary or a change produces: pure decisions over projected facts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from scheduler_service.domain.model import Candidate, Due, OpenCycleCandidate, OrderCycle, ShopPolicy
from scheduler_service.domain.rules import changed_while_open, is_due, placement

CYCLE_OPENED = "cycle_opened"


def policy_of(shops: Mapping[str, ShopPolicy], shop_id: str) -> ShopPolicy:
    """The shop's policy, or the defaults while its ShopCreated has not been seen."""
    return shops.get(shop_id) or ShopPolicy(shop_id)


@dataclass
class OpenPlan:
    """What a cycle's open emits: ``dues`` in candidate order; counts of the others for operators."""

    dues: list[Due] = field(default_factory=list)
    not_due: int = 0  # paused, skipped, out of range, kill switch off
    late_skipped: int = 0  # due, but the open was missed, the cycle is over and the shop does not place late


def plan_open(cycle: OrderCycle, opened_at: datetime, candidates: Iterable[Candidate],
              shops: Mapping[str, ShopPolicy], now: datetime) -> OpenPlan:
    """The OrderDue events of a cycle's open fired at ``opened_at`` and emitted at ``now``."""
    plan = OpenPlan()
    for cand in candidates:
        shop = policy_of(shops, cand.subscription.shop_id)
        if not is_due(cand.subscription, cycle, shop, cand.skipped):
            plan.not_due += 1
            continue
        late = placement(now, cycle, shop)
        if late is None:
            plan.late_skipped += 1
            continue
        plan.dues.append(Due(cand.subscription, cycle, opened_at, CYCLE_OPENED, late))
    return plan


def plan_mid_cycle(candidates: Iterable[OpenCycleCandidate], shops: Mapping[str, ShopPolicy], now: datetime,
                   changed_at: datetime, reason: str) -> list[Due]:
    """OrderDue events made due by a change at ``changed_at`` in cycles the scheduler has already opened.

    The change counts if it happened before the cycle closed; if the cycle has closed by ``now`` (the change
    reached us late) the shop's late-placement policy decides, as for a missed open.
    """
    dues = []
    for cand in candidates:
        shop = policy_of(shops, cand.subscription.shop_id)
        if not changed_while_open(changed_at, cand.cycle, cand.closed_at):
            continue
        if not is_due(cand.subscription, cand.cycle, shop, cand.skipped):
            continue
        late = placement(now, cand.cycle, shop, cand.closed_at)
        if late is None:
            continue
        dues.append(Due(cand.subscription, cand.cycle, max(changed_at, cand.opened_at), reason, late))
    return dues
