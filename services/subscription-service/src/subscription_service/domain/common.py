"""What every command carries (who, when, why) and what a decision returns (events to record)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared_events.decided import Decided

__all__ = ["By", "Decided"]


@dataclass(frozen=True)
class By:
    """Who asks (the contract's ``actor``), the optional reason they gave, and the request's "now"."""

    actor: dict[str, str]
    now: datetime
    reason: str | None = None

    def stamp(self, payload: dict[str, Any]) -> dict[str, Any]:
        return {**payload, "actor": dict(self.actor), "reason": self.reason}
