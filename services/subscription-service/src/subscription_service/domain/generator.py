"""Order cycles from a weekly rule, e.g. "every Tuesday 09:00 to Friday 17:00, Europe/Paris, for 12 weeks".

Wall-clock times are kept in the rule's time zone, week after week, whatever the daylight-saving changes: each
window is computed in local time and only then converted to UTC (so 09:00 stays 09:00 in summer and winter).
A local time that does not exist (the hour skipped in spring) is shifted forward by the gap (02:30 -> 03:30);
one that happens twice (autumn) is the first of the two.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from subscription_service.domain.errors import Invalid

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MAX_CYCLES = 260


@dataclass(frozen=True)
class WeeklyRule:
    opens_weekday: int  # 0 = Monday
    opens_time: time
    closes_weekday: int
    closes_time: time
    timezone: str
    start_date: date  # the first opening is on or after this date
    count: int
    interval_weeks: int = 1
    name_prefix: str = "Order cycle"


@dataclass(frozen=True)
class Window:
    name: str
    opens_at: datetime  # UTC
    closes_at: datetime  # UTC


def to_utc(day: date, at: time, zone: ZoneInfo) -> datetime:
    """Local wall-clock time to UTC. With fold=0 Python maps a time in the spring gap with the offset before the
    change (so it lands one gap later in local time) and a repeated autumn time to its first occurrence."""
    return datetime.combine(day, at.replace(tzinfo=None, fold=0), tzinfo=zone).astimezone(UTC)


def generate(rule: WeeklyRule) -> list[Window]:
    if not 1 <= rule.count <= MAX_CYCLES:
        raise Invalid({"count": [f"Must be between 1 and {MAX_CYCLES}."]})
    if not 1 <= rule.interval_weeks <= 52:
        raise Invalid({"interval_weeks": ["Must be between 1 and 52."]})
    zone = ZoneInfo(rule.timezone)
    first_open = rule.start_date + timedelta(days=(rule.opens_weekday - rule.start_date.weekday()) % 7)
    close_offset = (rule.closes_weekday - rule.opens_weekday) % 7
    if close_offset == 0 and rule.closes_time <= rule.opens_time:
        close_offset = 7  # "Tuesday 18:00 to Tuesday 09:00" closes the next week
    windows = []
    for i in range(rule.count):
        open_day = first_open + timedelta(weeks=i * rule.interval_weeks)
        close_day = open_day + timedelta(days=close_offset)
        opens_at, closes_at = to_utc(open_day, rule.opens_time, zone), to_utc(close_day, rule.closes_time, zone)
        windows.append(Window(f"{rule.name_prefix} {open_day.isoformat()}", opens_at, closes_at))
    return windows
