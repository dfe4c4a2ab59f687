"""Whether a shop is ready to take subscriptions: the set-up checklist of the reference's guide, each point done or
not, in the order a manager does them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

CHECKS = ("subscriptions_enabled", "shipping_method", "payment_method", "customers", "schedule")


@dataclass(frozen=True)
class ShopFacts:
    """What the checklist reads, counted by the adapter: active (not removed) methods, live customers, and live
    schedules holding at least one order cycle that has not closed yet."""

    subscriptions_enabled: bool
    shipping_methods: int
    payment_methods: int
    customers: int
    schedules_with_upcoming_cycles: int


def readiness(facts: ShopFacts) -> dict[str, Any]:
    done = {
        "subscriptions_enabled": facts.subscriptions_enabled,
        "shipping_method": facts.shipping_methods > 0,
        "payment_method": facts.payment_methods > 0,
        "customers": facts.customers > 0,
        "schedule": facts.schedules_with_upcoming_cycles > 0,
    }
    return {"ready": all(done.values()), "checks": [{"name": name, "done": done[name]} for name in CHECKS]}
