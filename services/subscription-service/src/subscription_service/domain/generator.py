"""Order cycles from a weekly rule, e.g. "every Tuesday 09:00 to Friday 17:00, Europe/Paris, for 12 weeks".

Wall-clock times are kept in the rule's time zone, week after week, whatever the daylight-saving changes: each
window is computed in local time and only then converted to UTC (so 09:00 stays 09:00 in summer and winter).
A local time that does not exist (the hour skipped in spring) is moved forward by the gap (02:30 -> 03:30);
one that happens twice (autumn) is the first of the two (domain.wallclock); each such window carries a notice.

One rule makes at most MAX_CYCLES cycles, all between the years 2000 and 2200 like any other cycle
(domain.cycles.within_years): a rule that would go past them is refused, naming the field to change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from subscription_service.domain.cycles import EARLIEST, LATEST, YEARS, within_years
from subscription_service.domain.errors import Invalid
from subscription_service.domain.wallclock import TimeNotice, resolve

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MAX_CYCLES = 260  # five years of weekly cycles per request; a longer plan is several requests


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
    notices: tuple[TimeNotice, ...] = ()  # a local time moved (spring gap) or ambiguous (autumn fold)


def generate(rule: WeeklyRule) -> list[Window]:
    """The rule's windows; ``rule.timezone`` must be a known zone (domain.standards.timezone_error)."""
    if not 1 <= rule.count <= MAX_CYCLES:
        raise Invalid({"count": [f"Must be between 1 and {MAX_CYCLES} (cycles made by one request)."]})
    if not 1 <= rule.interval_weeks <= 52:
        raise Invalid({"interval_weeks": ["Must be between 1 and 52."]})
    if not EARLIEST.date() <= rule.start_date < LATEST.date():
        raise Invalid({"start_date": [YEARS]})
    first_open = rule.start_date + timedelta(days=(rule.opens_weekday - rule.start_date.weekday()) % 7)
    close_offset = (rule.closes_weekday - rule.opens_weekday) % 7
    if close_offset == 0 and rule.closes_time <= rule.opens_time:
        close_offset = 7  # "Tuesday 18:00 to Tuesday 09:00" closes the next week
    windows = []
    for i in range(rule.count):
        open_day = first_open + timedelta(weeks=i * rule.interval_weeks)
        close_day = open_day + timedelta(days=close_offset)
        if close_day > LATEST.date():  # checked on the day first: a date far out cannot overflow a conversion
            _past_the_years(i)
        opens_at, opened = resolve(datetime.combine(open_day, rule.opens_time), rule.timezone, "opens_at")
        closes_at, closed = resolve(datetime.combine(close_day, rule.closes_time), rule.timezone, "closes_at")
        if not (within_years(opens_at) and within_years(closes_at)):
            _past_the_years(i)
        notices = tuple(n for n in (opened, closed) if n is not None)
        windows.append(Window(f"{rule.name_prefix} {open_day.isoformat()}", opens_at, closes_at, notices))
    return windows


def _past_the_years(i: int) -> None:
    if i == 0:
        raise Invalid({"start_date": [f"{YEARS[:-1]}: the first cycle would be outside them."]})
    raise Invalid({"count": [f"{YEARS[:-1]}: from this start date and interval at most {i} cycles fit."]})
