"""How long the ticker sleeps: until the next boundary, no polling cadence (no I/O)."""

from datetime import UTC, datetime, timedelta

from scheduler_service.entrypoints.ticker import CONTENDED_RETRY_S, sleep_seconds

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def test_it_sleeps_exactly_until_the_next_boundary_with_the_system_clock():
    assert sleep_seconds(NOW, NOW + timedelta(seconds=12.5), test_mode=False, max_wait_s=60) == 12.5


def test_an_overdue_boundary_means_no_sleep_and_a_far_one_means_the_safety_net():
    assert sleep_seconds(NOW, NOW - timedelta(seconds=3), test_mode=False, max_wait_s=60) == 0.0
    assert sleep_seconds(NOW, NOW + timedelta(days=6), test_mode=False, max_wait_s=60) == 60
    assert sleep_seconds(NOW, None, test_mode=False, max_wait_s=60) == 60


def test_with_the_test_clock_only_a_notify_or_the_safety_net_wakes_it():
    assert sleep_seconds(NOW, NOW + timedelta(seconds=1), test_mode=True, max_wait_s=60) == 60


def test_it_looks_again_shortly_when_other_replicas_hold_the_due_shops_or_a_failed_shop_is_due_for_retry():
    assert sleep_seconds(NOW, NOW + timedelta(hours=1), test_mode=False, max_wait_s=60, contended=True) == \
        CONTENDED_RETRY_S
    assert sleep_seconds(NOW, NOW + timedelta(hours=1), test_mode=True, max_wait_s=60, retry_in=2.0) == 2.0
    assert sleep_seconds(NOW, NOW + timedelta(hours=1), test_mode=False, max_wait_s=60, retry_in=-1) == 0.0
