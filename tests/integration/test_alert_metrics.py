"""The metrics the alerts read (deploy/prometheus/alerts.yaml, unit-tested by promtool in tests/deploy/test_alerts.py)
are real: with the four services running as processes on real Kafka, PostgreSQL and localstripe, each condition is
caused for real (a consumer group stopped while records arrive, an undecodable record, a relay stopped while a
service writes, a card declined at the charge, a cycle's window passing while the ticker is down) and the
services' /metrics, parsed as Prometheus parses it, shows the series the alert reads above zero."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from devstack.scenario import CARD_DECLINED_AT_CHARGE, iso
from devstack.stack import SERVICES
from devstack.testing import wait_for
from shared_events import kafka as kafka_clients
from shared_events.platform import CatalogPublisher

pytestmark = [pytest.mark.integration, pytest.mark.e2e]
FAILED = re.compile(r"^(reconciled:)?failed:")  # the outcomes ChargeFailures counts


def scrape(system, service: str) -> dict[tuple[str, frozenset], float]:
    """The service API's /metrics: (sample name, labels) -> value."""
    body = requests.get(f"{system.platform.urls[service]}/metrics", timeout=30).text
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(body) for s in family.samples}


def value(system, api: str, name: str, /, **labels: str) -> float:
    """The sum of the samples of ``name`` on ``api``'s /metrics whose labels include ``labels`` (0 when none)."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in scrape(system, api).items() if n == name and wanted <= ls)


def svc(name: str):
    return next(s for s in SERVICES if s.name == name)


def test_a_stopped_consumer_group_shows_lag_and_an_undecodable_record_counts_a_dead_letter(system):
    """ConsumerLagHigh / ConsumerNotConsuming read consumer_lag_records; DeadLetters reads
    events_consumed_total{outcome="dead_lettered"}."""
    stack = system.stack
    topic = f"{stack.cfg.topic_prefix}catalog.events"
    group = f"{stack.cfg.topic_prefix}order-service"  # order-service's group is namespaced like the topics
    dead_before = value(system, "order-service", "events_consumed_total", consumer=group, outcome="dead_lettered")
    publisher = CatalogPublisher(stack.bootstrap, topic_prefix=stack.cfg.topic_prefix)
    shop_id = str(uuid.uuid4())
    publisher.variant(shop_id, "lag-warm", "Lag probe", unit_price=100, currency="EUR", on_hand=1)
    publisher.flush()  # the group commits on the topic (a topic it never committed on has no series yet)
    wait_for(lambda: ("consumer_lag_records", frozenset({("group", group), ("topic", "catalog.events")}))
             in scrape(system, "order-service"), 120, "the group's lag on catalog.events on /metrics")
    stack.procs.stop("order-service.consumer")
    try:
        for n in range(5):
            publisher.variant(shop_id, f"lag-{n}", "Lag probe", unit_price=100, currency="EUR", on_hand=1)
        publisher.flush()
        kafka_clients.deliver_one(kafka_clients.producer(stack.bootstrap), topic, shop_id.encode(), b"not an event")
        lag = wait_for(lambda: value(system, "order-service", "consumer_lag_records", group=group,
                                     topic="catalog.events") >= 6 or None, 90, "the lag on /metrics")
        assert lag
    finally:
        stack.start_service(svc("order-service"), only=["consumer"])
    wait_for(lambda: value(system, "order-service", "consumer_lag_records", group=group,
                           topic="catalog.events") == 0, 120, "the restarted consumer to catch up")
    wait_for(lambda: value(system, "order-service", "events_consumed_total", consumer=group,
                           outcome="dead_lettered") >= dead_before + 1, 60, "the dead letter on /metrics")


def test_a_stopped_relay_leaves_an_outbox_backlog_on_metrics(system):
    """OutboxStale / OutboxBacklog read outbox_oldest_pending_seconds and outbox_pending_events."""
    stack, p = system.stack, system.platform
    stack.procs.stop("subscription-service.relay")
    try:
        p.create_shop(name="Backlog hub")  # its events wait in subscription-service's outbox
        pending = value(system, "subscription-service", "outbox_pending_events", service="subscription-service")
        assert pending >= 1
        wait_for(lambda: value(system, "subscription-service", "outbox_oldest_pending_seconds",
                               service="subscription-service") > 0, 30, "the oldest pending event to age")
    finally:
        stack.start_service(svc("subscription-service"), only=["relay"])
    wait_for(lambda: value(system, "subscription-service", "outbox_pending_events",
                           service="subscription-service") == 0, 60, "the relay to publish the backlog")


def test_a_card_declined_at_the_charge_counts_a_failed_charge(system, subscribe, one_cycle_shop):
    """ChargeFailures reads billing_charge_outcomes_total{outcome=~"(reconciled:)?failed:.*"}."""
    p = system.platform

    def failed() -> float:
        return sum(v for (n, ls), v in scrape(system, "billing-service").items()
                   if n == "billing_charge_outcomes_total" and FAILED.match(dict(ls)["outcome"]))

    before = failed()
    s = one_cycle_shop(p, "Declines hub", payment="stripe")
    customer = s.shop.customer("Dee", "Declined", card=CARD_DECLINED_AT_CHARGE)
    subscribe(s.shop, customer, s.schedule["id"], s.ship["id"], s.pay["id"], s.now)
    p.scheduler_caught_up()
    p.advance_to(p.now() + timedelta(days=1, hours=2))  # the cycle opens, places, closes: the charge is due
    wait_for(lambda: failed() >= before + 1, 90, "a failed charge on billing-service's /metrics")


def test_a_cycle_window_passing_while_the_ticker_is_down_counts_a_missed_due(system, subscribe, one_cycle_shop):
    """OrderDuesMissed reads scheduler_order_due_missed_total (a shop's default late_placement, while_open)."""
    p, stack = system.platform, system.stack
    before = value(system, "scheduler-service", "scheduler_order_due_missed_total")
    s = one_cycle_shop(p, "Missed alert hub")
    subscribe(s.shop, s.shop.customer("Max", "Missed"), s.schedule["id"], s.ship["id"], s.pay["id"], s.now)
    p.scheduler_caught_up()
    stack.procs.stop("scheduler-service.ticker")
    try:
        p.scheduler_caught_up()
        p.api("scheduler-service", p.admin_token).post("/api/v1/test-clock",
                                                       {"at": iso(p.now() + timedelta(days=1, hours=2))})
    finally:
        stack.start_service(svc("scheduler-service"), only=["ticker"])
    wait_for(lambda: value(system, "scheduler-service", "scheduler_order_due_missed_total") >= before + 1, 60,
             "the missed due on scheduler-service's /metrics")
