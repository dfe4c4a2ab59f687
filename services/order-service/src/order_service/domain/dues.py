"""The rules of a due: an occurrence (subscription, order cycle) the scheduler says must get an order (OrderDue), or
will not (OrderDueMissed). Pure: no I/O. DEVELOPING "Scheduler -> orders".

A due opening a cycle waits for the cycle's opening batch, placed at once when complete, stock shared by the
shop's policy; any other due is placed alone as it comes; a due of a cycle that has closed is placed and
confirmed at once.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any


@dataclass(frozen=True)
class OpeningBatch:
    """A cycle's opening batch as counted so far: the dues and missed dues the scheduler announced in
    OrderCycleOpened (``due_count`` None until it is seen), those recorded, and whether it has been placed."""

    due_count: int | None
    dues_recorded: int
    missed_count: int
    missed_recorded: int
    placed: bool


def ready_to_place(batch: OpeningBatch) -> bool:
    """An opening batch is placed once, when complete: every due and every missed due the scheduler counted in
    OrderCycleOpened is recorded (and OrderCycleOpened was seen)."""
    return (not batch.placed and batch.due_count is not None and batch.dues_recorded >= batch.due_count
            and batch.missed_recorded >= batch.missed_count)


class Route(Enum):
    """Where a newly recorded due goes."""

    LATE = "late"  # placed and confirmed at once: it came late, or its cycle has closed
    WITH_BATCH = "with_batch"  # waits for its cycle's opening batch
    ALONE = "alone"  # placed now, on its own (joining the shop's open placement run of the cycle)


def route(*, late: bool, reason: str, cycle_closed: bool, batch_placed: bool) -> Route:
    """A late due, or one of a closed cycle, is placed late; a due that opened its cycle waits for the opening
    batch until that is placed; any other is placed alone."""
    if late or cycle_closed:
        return Route.LATE
    if reason == "cycle_opened" and not batch_placed:
        return Route.WITH_BATCH
    return Route.ALONE


def lacks(shop_known: bool, subscription: Mapping[str, Any] | None, methods: Container[tuple[str, str]],
          catalog_known: bool = True) -> str | None:
    """What a due still lacks to be placed (its shop, its subscription, the subscription's shipping or payment
    method among the shop's ``methods``, keyed (kind, method id), or ``catalog``: a product the subscription asks
    for that the catalog has not told of yet, ``catalog_known`` False), or None. Such a due waits for it: the
    catalog and the scheduler are topics of their own, with no order between them, and a due placed before its
    products are known would place them at quantity 0 (an empty order). A product the catalog may never tell of is
    waited for a bounded time only (``keeps_waiting_for_catalog``)."""
    if not shop_known:
        return "shop"
    if subscription is None:
        return "subscription"
    for kind in ("shipping", "payment"):
        if (kind, subscription[f"{kind}_method_id"]) not in methods:
            return f"{kind}_method"
    if not catalog_known:
        return "catalog"
    return None


def catalog_known(items: Iterable[Mapping[str, Any]], known_variants: Container[str]) -> bool:
    """Whether the catalog has told of every variant these subscription items ask for (deleted or unavailable
    ones included: they are known, and placed at quantity 0 as before)."""
    return all(item["variant_id"] in known_variants for item in items)


def keeps_waiting_for_catalog(waited_s: float, patience_s: float) -> bool:
    """A due that lacks only products the catalog has not told of waits for them ``patience_s`` at most, then is
    placed as before (those products at quantity 0): the catalog may never tell of a variant (a platform's
    mistake), and nothing due may wait for ever."""
    return waited_s < patience_s


def set_aside_because(subscription_state: str, occurrence_skipped: bool) -> str | None:
    """Why a due with all it needs is set aside instead of placed: its subscription is paused or cancelled, or
    its occurrence was skipped; None: place it."""
    if subscription_state != "active":
        return f"subscription_{subscription_state}"
    if occurrence_skipped:
        return "occurrence_skipped"
    return None


def batch_keeps_waiting(waited_s: float, patience_s: float) -> bool:
    """An opening batch with dues that lack data waits for them (its allocation order would be incomplete), but
    only for ``patience_s``: after that it is placed without them, and they wait on their own."""
    return waited_s < patience_s
