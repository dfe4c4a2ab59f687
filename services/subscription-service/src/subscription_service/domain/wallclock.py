"""Local wall-clock times of a time zone to instants, and what a person must be told when that was not exact.

The rule (Python's ``fold=0``, stated in the API description):
- a time that does not exist (the hour skipped when clocks go forward, e.g. 02:30 in Europe/Paris on Sunday
  28 March 2027) is moved forward by the length of the gap (02:30 -> 03:30+02:00);
- a time that happens twice (the hour repeated when clocks go back, e.g. 02:30 in Europe/Paris on Sunday
  31 October 2027) is the first, earlier of the two (02:30+02:00, summer time).
Either way the answer carries a notice naming the field and what happened.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

MOVED_FORWARD = "moved_forward"
AMBIGUOUS_FIRST = "ambiguous_first"


@dataclass(frozen=True)
class TimeNotice:
    """A local time that was moved (it does not exist) or was ambiguous (it happens twice)."""

    field: str
    kind: str  # MOVED_FORWARD | AMBIGUOUS_FIRST
    local_time: datetime  # naive: the wall-clock time asked for
    resolved: datetime  # aware, in the zone: what it was taken as
    timezone: str
    shift: timedelta  # the gap's or the fold's length

    @property
    def message(self) -> str:
        asked, at = self.local_time.strftime("%H:%M"), self.resolved.isoformat(timespec="minutes")
        day, hours = self.local_time.date().isoformat(), _duration(self.shift)
        if self.kind == MOVED_FORWARD:
            return (f"{asked} does not exist in {self.timezone} on {day} (clocks go forward {hours}): "
                    f"moved forward by {hours} to {at}.")
        return (f"{asked} happens twice in {self.timezone} on {day} (clocks go back {hours}): "
                f"taken as the first, {at}.")

    def data(self, **more: Any) -> dict[str, Any]:
        return {**more, "field": self.field, "kind": self.kind,
                "local_time": self.local_time.isoformat(timespec="minutes"), "timezone": self.timezone,
                "resolved_local": self.resolved.isoformat(timespec="minutes"), "message": self.message}


def _duration(d: timedelta) -> str:
    minutes = int(abs(d).total_seconds()) // 60
    return f"{minutes // 60}:{minutes % 60:02d}"


def to_utc(local: datetime, zone: ZoneInfo) -> datetime:
    """A naive wall-clock time of ``zone`` as a UTC instant, by the rule above."""
    return local.replace(tzinfo=zone, fold=0).astimezone(UTC)


def resolve(local: datetime, timezone: str, field: str) -> tuple[datetime, TimeNotice | None]:
    """(the UTC instant of a naive wall-clock time of ``timezone``, a notice if it was moved or ambiguous)."""
    zone = ZoneInfo(timezone)
    first, second = local.replace(tzinfo=zone, fold=0), local.replace(tzinfo=zone, fold=1)
    at = first.astimezone(UTC)
    before, after = first.utcoffset(), second.utcoffset()
    if before is None or after is None or before == after:
        return at, None
    resolved = at.astimezone(zone)
    if resolved.replace(tzinfo=None) != local:
        return at, TimeNotice(field, MOVED_FORWARD, local, resolved, timezone, resolved.replace(tzinfo=None) - local)
    return at, TimeNotice(field, AMBIGUOUS_FIRST, local, resolved, timezone, before - after)
