"""The per-shop retry schedule (no I/O)."""

from datetime import UTC, datetime, timedelta

from billing_service.domain.model import DEFAULT_RETRY_POLICY, RetryPolicy

T = datetime(2026, 4, 3, 15, 0, tzinfo=UTC)


def test_retries_follow_the_delays_then_stop_at_max_attempts():
    policy = RetryPolicy(delays_hours=(24, 72), max_attempts=3)
    assert policy.next_attempt_at(1, T) == T + timedelta(hours=24)
    assert policy.next_attempt_at(2, T) == T + timedelta(hours=72)
    assert policy.next_attempt_at(3, T) is None


def test_the_last_delay_repeats_when_more_attempts_are_allowed_than_delays_given():
    policy = RetryPolicy(delays_hours=(6,), max_attempts=4)
    assert [policy.next_attempt_at(n, T) for n in (1, 2, 3, 4)] == [T + timedelta(hours=6)] * 3 + [None]


def test_no_delays_or_a_single_attempt_means_never_retry():
    assert RetryPolicy(delays_hours=(), max_attempts=5).next_attempt_at(1, T) is None
    assert RetryPolicy(delays_hours=(24,), max_attempts=1).next_attempt_at(1, T) is None


def test_the_default_policy_tries_again_after_one_and_three_days():
    assert RetryPolicy((24, 72), 3) == DEFAULT_RETRY_POLICY
