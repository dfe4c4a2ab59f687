"""Nothing lost in silence (issue 21, point 9): a cycle whose whole open window passes while the scheduler's ticker
is stopped places nothing (the shop's late_placement is the default, while_open), and says so: the event on
scheduler.events, the shop's placement summary email, the cycle's placement summary in the API, the metric, and a
projection that a replay rebuilds row for row. The four services run as processes on real Kafka, PostgreSQL and
the SMTP sink; time is the shared test clock."""

from __future__ import annotations

import importlib
import json
import re
from datetime import timedelta

import psycopg
import pytest
import requests

from devstack.scenario import iso
from devstack.stack import SERVICES
from devstack.testing import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

MISSED_METRIC = re.compile(r'^scheduler_order_due_missed_total\{reason="open_processed_after_close"\} (\S+)$', re.M)


def _missed_total(system) -> float:
    body = requests.get(f"{system.platform.urls['scheduler-service']}/metrics", timeout=10).text
    return sum(float(v) for v in MISSED_METRIC.findall(body))


def _scheduler():
    return next(s for s in SERVICES if s.name == "scheduler-service")


def _scheduler_events(system, aggregate_id: str) -> list[dict]:
    """scheduler-service's published events of one aggregate (its event store, rows the relay has published)."""
    dsn = system.stack.db_url(_scheduler().database)
    with psycopg.connect(dsn) as conn:
        rows = conn.execute("SELECT body FROM event_store WHERE topic = 'scheduler.events' AND aggregate_id = %s "
                            "AND published_at IS NOT NULL ORDER BY position", [aggregate_id]).fetchall()
    return [json.loads(bytes(r[0])) for r in rows]


def test_a_cycle_whose_whole_window_passes_while_the_scheduler_is_stopped_is_told_everywhere_not_lost(
        system, monkeypatch, subscribe, one_cycle_shop):
    p, stack = system.platform, system.stack
    s = one_cycle_shop(p, "Missed window hub")
    shop, cycle = s.shop, s.cycle
    assert shop.data["late_placement"] == "while_open"  # the default
    customer = shop.customer("Mona", "Missed")
    sub = subscribe(shop, customer, s.schedule["id"], s.ship["id"], s.pay["id"], s.now)
    p.scheduler_caught_up()
    wait_for(lambda: shop.subs().get(f"{shop.base}/subscriptions/{sub['id']}"), 30, "the subscription")
    before = _missed_total(system)

    ticker = "scheduler-service.ticker"
    stack.procs.stop(ticker)
    try:  # the ticker is down from before the open until after the close
        p.scheduler_caught_up()
        p.api("scheduler-service", p.admin_token).post(
            "/api/v1/test-clock", {"at": iso(p.now() + timedelta(days=1, hours=2))})
    finally:
        stack.start_service(_scheduler(), only=["ticker"])

    # the event: the other outcome of the occurrence's one decision, with why
    key = f"{sub['id']}:{cycle['id']}"
    [missed] = wait_for(lambda: _scheduler_events(system, key), 60, "the OrderDueMissed to be published")
    assert (missed["event_type"], missed["aggregate_version"]) == ("OrderDueMissed", 1)
    assert missed["payload"]["customer_id"] == customer.id
    assert (missed["payload"]["due_reason"], missed["payload"]["reason"], missed["payload"]["late_placement"]) == (
        "cycle_opened", "open_processed_after_close", "while_open")
    [opened, _closed] = wait_for(lambda: (lambda e: e if len(e) == 2 else None)(
        _scheduler_events(system, cycle["id"])), 60, "the cycle's open and close")
    assert (opened["payload"]["due_count"], opened["payload"]["missed_count"]) == (0, 1)

    # the shop's placement summary email lists the subscription and why
    def summary_mail():
        found = [m for m in system.mail(shop.data["contact_email"]) if "recently placed" in (m.get("subject") or "")]
        return found or None

    [mail] = wait_for(summary_mail, 60, "the placement summary email")
    text = mail["text"] or ""
    assert sub["id"] in text and customer.email in text and "Mona Missed" in text
    assert "not placed, processed after the order cycle closed: 1" in text
    assert "the order cycle closed before its opening was processed" in text
    assert sub["id"] in (mail["html"] or "")

    # the cycle's placement summary in the API shows it
    summary = shop.orders_api().get(f"{shop.base}/order-cycles/{cycle['id']}/placement-summary")
    assert (summary["due_count"], summary["missed_count"], summary["dues"]["missed"]) == (0, 1, 1)
    [row] = summary["missed"]
    assert (row["subscription_id"], row["customer_id"], row["customer_email"]) == (sub["id"], customer.id,
                                                                                  customer.email)
    assert (row["due_reason"], row["reason"]) == ("cycle_opened", "open_processed_after_close")
    assert summary["orders"]["orders"] == 0

    # the metric counts it
    assert _missed_total(system) >= before + 1

    # a replay rebuilds the same missed_dues rows as the live consumer wrote
    monkeypatch.setenv("TOPIC_PREFIX", stack.cfg.topic_prefix)
    order_service = next(s for s in SERVICES if s.name == "order-service")
    with psycopg.connect(stack.db_url(order_service.database)) as conn:
        live = conn.execute("SELECT reason FROM missed_dues WHERE subscription_id = %s AND order_cycle_id = %s",
                            [sub["id"], cycle["id"]]).fetchall()
    assert live == [("open_processed_after_close",)]
    rebuild = importlib.import_module("order_service.entrypoints.rebuild")
    report = rebuild.run(stack.db_url(order_service.database), bootstrap=stack.bootstrap, swap=False)
    assert report.differences["missed_dues"] == 0, report.differences
