"""Who is calling, when, why, and which version they read: everything a handler needs from the request."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from servicekit.auth import Principal
from subscription_service.domain.common import By
from subscription_service.domain.errors import Stale


@dataclass(frozen=True)
class Caller:
    principal: Principal
    now: datetime
    reason: str | None = None  # X-Change-Reason
    if_match: int | None = None  # the aggregate version the caller read (If-Match), None = not sent
    correlation_id: str | None = None

    @property
    def by(self) -> By:
        return By(actor=self.principal.actor(), now=self.now, reason=self.reason)

    def check_version(self, current: int) -> None:
        """412 when the caller read another version than the current one."""
        if self.if_match is not None and self.if_match != current:
            raise Stale(self.if_match, current)
