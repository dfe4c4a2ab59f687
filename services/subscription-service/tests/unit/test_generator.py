from datetime import UTC, date, datetime, time

import pytest

from subscription_service.domain.errors import Invalid
from subscription_service.domain.generator import WeeklyRule, generate

PARIS_TUE_FRI = dict(opens_weekday=1, opens_time=time(9), closes_weekday=4, closes_time=time(17),
                     timezone="Europe/Paris")


def test_every_tuesday_to_friday_in_paris_for_12_weeks_stays_at_9_and_17_local_across_the_dst_change():
    windows = generate(WeeklyRule(**PARIS_TUE_FRI, start_date=date(2026, 3, 9), count=12))
    assert len(windows) == 12
    assert windows[0].opens_at == datetime(2026, 3, 10, 8, 0, tzinfo=UTC)  # CET, UTC+1
    assert windows[0].closes_at == datetime(2026, 3, 13, 16, 0, tzinfo=UTC)
    # Europe/Paris goes to summer time on Sunday 29 March 2026
    assert windows[2].opens_at == datetime(2026, 3, 24, 8, 0, tzinfo=UTC)
    assert windows[3].opens_at == datetime(2026, 3, 31, 7, 0, tzinfo=UTC)  # CEST, UTC+2
    assert windows[3].closes_at == datetime(2026, 4, 3, 15, 0, tzinfo=UTC)
    assert all((w.closes_at - w.opens_at).days == 3 for w in windows)


def test_back_to_winter_time_in_october_keeps_local_times():
    windows = generate(WeeklyRule(**PARIS_TUE_FRI, start_date=date(2026, 10, 19), count=2))
    assert windows[0].opens_at == datetime(2026, 10, 20, 7, 0, tzinfo=UTC)
    assert windows[1].opens_at == datetime(2026, 10, 27, 8, 0, tzinfo=UTC)  # 25 Oct: back to UTC+1


def test_a_window_that_spans_the_change_is_an_hour_shorter_in_real_time():
    [w] = generate(WeeklyRule(opens_weekday=5, opens_time=time(9), closes_weekday=0, closes_time=time(9),
                              timezone="Europe/Paris", start_date=date(2026, 3, 28), count=1))
    assert w.opens_at == datetime(2026, 3, 28, 8, 0, tzinfo=UTC)
    assert w.closes_at == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)


def test_a_local_time_in_the_spring_gap_is_shifted_forward_and_the_window_says_so():
    [w] = generate(WeeklyRule(opens_weekday=6, opens_time=time(2, 30), closes_weekday=0, closes_time=time(20),
                              timezone="Europe/Paris", start_date=date(2026, 3, 29), count=1))
    assert w.opens_at == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)  # 03:30 CEST
    [n] = w.notices
    assert (n.field, n.kind, n.resolved.isoformat()) == ("opens_at", "moved_forward", "2026-03-29T03:30:00+02:00")


def test_a_local_time_in_the_autumn_fold_is_the_first_of_the_two_and_only_that_week_says_so():
    windows = generate(WeeklyRule(opens_weekday=6, opens_time=time(2, 30), closes_weekday=6, closes_time=time(20),
                                  timezone="Europe/Paris", start_date=date(2027, 10, 24), count=2))
    assert windows[0].notices == ()
    [n] = windows[1].notices  # Sunday 31 October 2027: 02:00-03:00 happens twice
    assert windows[1].opens_at == datetime(2027, 10, 31, 0, 30, tzinfo=UTC)  # 02:30+02:00, the first
    assert (n.field, n.kind) == ("opens_at", "ambiguous_first")


def test_a_rule_that_would_go_past_the_year_2200_is_refused_on_its_count_as_a_single_cycle_would_be():
    rule = dict(opens_weekday=0, opens_time=time(9), closes_weekday=1, closes_time=time(9), timezone="UTC",
                count=259, interval_weeks=52)
    with pytest.raises(Invalid) as err:
        generate(WeeklyRule(**rule, start_date=date(2199, 1, 1)))
    assert list(err.value.errors) == ["count"]
    assert "at most 1 cycles fit" in err.value.errors["count"][0]
    with pytest.raises(Invalid) as err:
        generate(WeeklyRule(**rule, start_date=date(9999, 1, 1)))
    assert list(err.value.errors) == ["start_date"]
    with pytest.raises(Invalid) as err:
        generate(WeeklyRule(**{**rule, "count": 1}, start_date=date(1999, 12, 31)))
    assert list(err.value.errors) == ["start_date"]
    assert len(generate(WeeklyRule(**{**rule, "count": 173}, start_date=date(2026, 3, 9)))) == 173


def test_the_first_opening_is_on_or_after_the_start_date_and_names_carry_the_local_date():
    windows = generate(WeeklyRule(**PARIS_TUE_FRI, start_date=date(2026, 3, 10), count=2, interval_weeks=2,
                                  name_prefix="Box"))
    assert [w.name for w in windows] == ["Box 2026-03-10", "Box 2026-03-24"]


def test_same_weekday_close_before_open_closes_the_next_week():
    [w] = generate(WeeklyRule(opens_weekday=1, opens_time=time(18), closes_weekday=1, closes_time=time(9),
                              timezone="UTC", start_date=date(2026, 3, 10), count=1))
    assert (w.closes_at - w.opens_at).total_seconds() == (7 * 24 - 9) * 3600


@pytest.mark.parametrize("kw", [{"count": 0}, {"count": 1000}, {"count": 2, "interval_weeks": 0}])
def test_counts_and_intervals_are_bounded(kw):
    with pytest.raises(Invalid):
        generate(WeeklyRule(**PARIS_TUE_FRI, start_date=date(2026, 3, 10), **{"count": 1, **kw}))
