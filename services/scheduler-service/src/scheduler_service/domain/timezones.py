"""Shop time zones: cycles are stored and fired in UTC; people read them in the shop's zone."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def zone(name: str | None) -> ZoneInfo:
    """The IANA zone, or UTC for an unknown or missing name (a display concern, never a firing one)."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def to_local(at: datetime, zone_name: str | None) -> datetime:
    """An instant shown in the shop's zone, with the offset in force at that instant (DST-aware)."""
    return at.astimezone(UTC).astimezone(zone(zone_name))
