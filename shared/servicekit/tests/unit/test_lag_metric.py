"""consumer_lag_records never holds /metrics up for long: Kafka unreachable, the lag is left out of the scrape within
a scrape timeout, and the scrapes of the next half minute do not ask Kafka again."""

import time

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from servicekit import metrics


def test_an_unreachable_kafka_fails_the_lag_read_quickly_then_is_not_asked_again_for_a_while():
    read = metrics.kafka_group_lag("probe", "127.0.0.1:1", timeout=1.0, back_off_s=30)
    started = time.monotonic()
    with pytest.raises(Exception):  # librdkafka's error or a timeout, whichever comes first
        read()
    assert time.monotonic() - started < 8
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        read()
    assert time.monotonic() - started < 0.1


def test_a_failed_lag_read_leaves_the_series_out_and_the_rest_of_the_scrape_in():
    def broken():
        raise TimeoutError("Kafka did not answer")

    registry = CollectorRegistry()
    registry.register(metrics.ConsumerLagCollector("probe", broken))
    registry.register(metrics.OutboxCollector("probe", lambda: (4, 12.5)))
    body = generate_latest(registry).decode()
    assert "consumer_lag_records{" not in body
    assert 'outbox_pending_events{service="probe"} 4.0' in body


def test_the_lag_is_one_series_per_topic_of_the_group():
    collector = metrics.ConsumerLagCollector("probe", lambda: {"orders.events": 7, "catalog.events": 0})
    registry = CollectorRegistry()
    registry.register(collector)
    body = generate_latest(registry).decode()
    assert 'consumer_lag_records{group="probe",topic="orders.events"} 7.0' in body
    assert 'consumer_lag_records{group="probe",topic="catalog.events"} 0.0' in body
