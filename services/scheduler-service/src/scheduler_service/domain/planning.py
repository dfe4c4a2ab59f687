"""Which OrderDue events a boundary or a change produces: pure decisions over projected facts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from scheduler_service.domain.model import (
    CHANGE_PROCESSED_AFTER_CLOSE,
    OPEN_PROCESSED_AFTER_CLOSE,
    Candidate,
    Due,
    Missed,
    OpenCycleCandidate,
    OrderCycle,
    ShopPolicy,
)
from scheduler_service.domain.rules import changed_while_open, is_due, placement

CYCLE_OPENED = "cycle_opened"


def policy_of(shops: Mapping[str, ShopPolicy], shop_id: str) -> ShopPolicy:
    """The shop's policy, or the defaults while its ShopCreated has not been seen."""
    return shops.get(shop_id) or ShopPolicy(shop_id)


@dataclass
class OpenPlan:
    """What a cycle's open emits: ``dues`` and ``missed`` in candidate order; a count of the others."""

    dues: list[Due] = field(default_factory=list)
    missed: list[Missed] = field(default_factory=list)  # due, but the open was processed after the close and
    # the shop does not place late: each is told (OrderDueMissed), never dropped in silence
    not_due: int = 0  # paused, skipped, out of range, kill switch off


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
            plan.missed.append(Missed(cand.subscription, cycle, opened_at, CYCLE_OPENED, OPEN_PROCESSED_AFTER_CLOSE))
            continue
        plan.dues.append(Due(cand.subscription, cycle, opened_at, CYCLE_OPENED, late))
    return plan


@dataclass
class MidCyclePlan:
    """What a change emits in cycles already opened: OrderDue events and OrderDueMissed events."""

    dues: list[Due] = field(default_factory=list)
    missed: list[Missed] = field(default_factory=list)


def plan_mid_cycle(candidates: Iterable[OpenCycleCandidate], shops: Mapping[str, ShopPolicy], now: datetime,
                   changed_at: datetime, reason: str) -> MidCyclePlan:
    """The dues a change at ``changed_at`` makes in cycles the scheduler has already opened.

    The change counts if it happened before the cycle closed; if the cycle has closed by ``now`` (the change
    reached us late) the shop's late-placement policy decides, as for a missed open: a late due or a miss.
    """
    plan = MidCyclePlan()
    for cand in candidates:
        shop = policy_of(shops, cand.subscription.shop_id)
        if not changed_while_open(changed_at, cand.cycle, cand.closed_at):
            continue
        if not is_due(cand.subscription, cand.cycle, shop, cand.skipped):
            continue
        due_at = max(changed_at, cand.opened_at)
        late = placement(now, cand.cycle, shop, cand.closed_at)
        if late is None:
            plan.missed.append(Missed(cand.subscription, cand.cycle, due_at, reason, CHANGE_PROCESSED_AFTER_CLOSE))
            continue
        plan.dues.append(Due(cand.subscription, cand.cycle, due_at, reason, late))
    return plan
