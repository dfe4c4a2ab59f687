"""Through real Kafka: the relay publishes every change in its contract; the consumer applies catalog, scheduler,
orders and billing events exactly once; replaying every topic rebuilds the projections identically."""

import threading
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from devstack.testing import rows, scalar, wait_for
from shared_events import Envelope, decode, encode
from shared_events import kafka as kafka_clients
from shared_events.consumer import EventConsumer
from shared_events.platform import CatalogPublisher
from shared_events.relay import Relay
from shared_events.topics import physical
from subscription_service.adapters.projections import CONSUMED_TOPICS, OWN_TOPICS, PROJECTION_TABLES, apply
from subscription_service.entrypoints import rebuild

pytestmark = pytest.mark.integration

OPEN_FIRST = datetime(2026, 3, 18, 12, tzinfo=UTC)


@pytest.fixture
def topics(monkeypatch, infra, app, kit):
    """Fresh topics (3 partitions each: enough to interleave, light on a shared broker) for this test."""
    from shared_events.topics import ensure_topics

    monkeypatch.setenv("TOPIC_PARTITIONS", "3")
    prefix = f"sub{datetime.now(UTC):%H%M%S%f}."
    monkeypatch.setenv("TOPIC_PREFIX", prefix)
    ensure_topics(infra.bootstrap, prefix)
    yield prefix
    kit.drop_topics(infra.bootstrap, prefix)


class Worker:
    """Run a relay or a consumer in a thread, stopped at the end of the test."""

    def __init__(self, target):
        self.target = target
        self.thread = threading.Thread(target=target.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self.target

    def __exit__(self, *exc):
        self.target.stop()
        self.thread.join(60)


def topic_records(bootstrap, logical):
    return list(kafka_clients.read_topic(physical(logical), bootstrap))


def publish(producer, event_type, aggregate_id, version, payload):
    env = Envelope(event_type=event_type, aggregate_id=aggregate_id, aggregate_version=version, payload=payload,
                   producer="test-other-service", shop_id=payload.get("shop_id"), occurred_at=datetime.now(UTC))
    kafka_clients.send(producer, physical(env.topic_family), aggregate_id.encode(), encode(env))
    return env


def unpublished(dsn):
    return scalar(dsn, "SELECT count(*) FROM event_store WHERE published_at IS NULL")


def activity(shop, kit, clock):
    """A bit of everything a manager and a customer do."""
    m = shop.manager
    sub = kit.ok(m.post(f"/shops/{shop.id}/subscriptions", kit.subscription_body(shop)), 201)
    url = f"/shops/{shop.id}/subscriptions/{sub['id']}"
    kit.ok(m.patch(url, {"items": [{"variant_id": "veg-box", "quantity": 2}]}, headers={"X-Change-Reason": "r"}))
    kit.ok(m.post(f"{url}/occurrences/{shop.cycles[3]['id']}/skip"))
    kit.ok(m.patch(f"/shops/{shop.id}", {"allow_order_changes": True}))
    kit.ok(m.patch(f"/shops/{shop.id}/order-cycles/{shop.cycles[5]['id']}", {"name": "Moved"}))
    kit.ok(m.patch(f"/shops/{shop.id}/schedules/{shop.schedule['id']}", {"name": "Weekly box"}))
    lone = kit.ok(m.post(f"/shops/{shop.id}/customers", {"email": "lone@example.org", "first_name": "L",
                                                         "last_name": "One"}), 201)
    assert m.delete(f"/shops/{shop.id}/customers/{lone['id']}").status_code == 204
    kit.ok(m.post(f"/shops/{shop.id}/customers", {"email": "lone@example.org", "first_name": "L",
                                                  "last_name": "Two"}), 201)  # the freed email, taken again
    cancelled = kit.ok(m.post(f"/shops/{shop.id}/subscriptions", kit.subscription_body(shop)), 201)
    kit.ok(m.post(f"/shops/{shop.id}/subscriptions/{cancelled['id']}/cancel", {}))
    assert m.delete(f"/shops/{shop.id}/payment-methods/{shop.cash['id']}").status_code == 204
    return sub


def test_every_change_reaches_kafka_through_the_relay_in_its_contract(topics, admin, kit, app, infra, clock):
    shop = kit.make_shop(admin, app)
    activity(shop, kit, clock)
    stored = rows(app.dsn, "SELECT topic, event_type, event_id::text FROM event_store ORDER BY position")
    assert {t for t, _, _ in stored} == set(OWN_TOPICS)
    with Worker(Relay(app.dsn, "subscription-service", bootstrap=infra.bootstrap)):
        wait_for(lambda: unpublished(app.dsn) == 0, what="the relay to publish the outbox")
    published = {}
    for topic in OWN_TOPICS:
        for rec in topic_records(infra.bootstrap, topic):
            env = decode(rec.value)  # validates envelope and payload against the contract
            assert rec.key.decode() == env.aggregate_id and env.topic_family == topic
            assert env.producer == "subscription-service"
            published[env.event_id] = env.event_type
    assert published == {eid: etype for _, etype, eid in stored}
    assert {"ShopCreated", "ShopUpdated", "ShippingMethodSaved", "PaymentMethodSaved", "PaymentMethodRemoved",
            "CustomerCreated", "CustomerCardSet", "CustomerChargesAllowed", "CustomerDeleted", "OrderCycleCreated",
            "OrderCycleMoved", "ScheduleCreated", "ScheduleRenamed", "SubscriptionCreated", "SubscriptionUpdated",
            "SubscriptionCancelled", "OccurrenceSkipped", "TokenIssued"} <= set(published.values())


def test_consumed_events_drive_occurrences_and_a_rebuild_equals_live(topics, admin, kit, app, infra, clock):
    shop = kit.make_shop(admin, app)
    sub = activity(shop, kit, clock)
    clock(OPEN_FIRST)
    first = shop.cycles[0]
    producer = kafka_clients.producer(infra.bootstrap)
    catalog = CatalogPublisher(producer=producer)
    # make_shop projected its catalog directly; the platform now publishes it for real (newer versions)
    catalog.variant(shop.id, "veg-box", "Veg box", unit_price=2500, currency="EUR")
    catalog.variant(shop.id, "eggs-6", "Free-range eggs", unit_price=350, currency="EUR", on_hand=40)
    catalog.adjust_stock(shop.id, "eggs-6", -4)
    catalog.variant(shop.id, "honey", "Honey", unit_price=900, currency="EUR", available=False)
    publish(producer, "OrderDue", f"{sub['id']}:{first['id']}", 1, {
        "subscription_id": sub["id"], "order_cycle_id": first["id"], "shop_id": shop.id,
        "customer_id": sub["customer_id"], "schedule_id": sub["schedule_id"], "opens_at": first["opens_at"],
        "closes_at": first["closes_at"], "due_at": first["opens_at"], "reason": "cycle_opened",
        "lateness_seconds": 0.2, "late": False})
    ids = {"order_id": "ord-1", "shop_id": shop.id, "subscription_id": sub["id"], "order_cycle_id": first["id"],
           "customer_id": sub["customer_id"]}
    address = kit.ADDRESS | {"address2": None, "state": None, "phone": None}
    totals = {"item_total": 5000, "shipping_fee": 500, "payment_fee": 113, "total": 5613}
    publish(producer, "OrderPlaced", "ord-1", 1, {
        **ids, "number": "R1", "status": "placed", "currency": "EUR", "lines": [], "totals": totals,
        "shipping_method_id": shop.ship["id"], "payment_method_id": shop.card["id"], "payment_kind": "stripe",
        "bill_address": address, "ship_address": address, "opens_at": first["opens_at"],
        "closes_at": first["closes_at"], "late": False, "allocation_policy": "first_come", "stock_delta": []})
    publish(producer, "OrderConfirmed", "ord-1", 2, {**ids, "number": "R1", "currency": "EUR", "totals": totals,
                                                     "payment_kind": "stripe", "payment_required": True,
                                                     "confirmed_at": first["closes_at"]})
    pay = {"payment_id": "pay-1", "order_id": "ord-1", "shop_id": shop.id, "customer_id": sub["customer_id"]}
    publish(producer, "PaymentPending", "pay-1", 1, {**pay, "amount": 5613, "currency": "EUR", "method": "stripe"})
    publish(producer, "PaymentSucceeded", "pay-1", 2, {**pay, "attempt": 1, "amount": 5613, "currency": "EUR"})
    producer.flush()

    occ_url = f"/shops/{shop.id}/subscriptions/{sub['id']}/occurrences/{first['id']}"
    consumer = EventConsumer(app.dsn, "subscription-service", CONSUMED_TOPICS, apply, bootstrap=infra.bootstrap,
                             set_based=True)  # as entrypoints/consumer.py runs it
    with Worker(consumer), Worker(Relay(app.dsn, "subscription-service", bootstrap=infra.bootstrap)):
        wait_for(lambda: kit.ok(shop.manager.get(occ_url))["state"] == "paid", timeout=90,
                 what="the consumer to apply the order and payment events")
        wait_for(lambda: unpublished(app.dsn) == 0, what="the relay to publish the outbox")
        wait_for(lambda: consumer.stats.applied >= 8, what="every consumed event (and our identity events)")
    occurrence = kit.ok(shop.manager.get(occ_url))
    assert occurrence["total"] == 5613 and occurrence["order"]["number"] == "R1"
    assert scalar(app.dsn, "SELECT on_hand FROM variants WHERE variant_id = 'eggs-6'") == 36
    edited = kit.ok(shop.manager.patch(f"/shops/{shop.id}/subscriptions/{sub['id']}",
                                       {"items": [{"variant_id": "eggs-6", "quantity": 1}]}))
    assert edited["items"][0]["price_estimate"] == 350 and edited["items"][0]["name"] == "Free-range eggs"
    with Worker(Relay(app.dsn, "subscription-service", bootstrap=infra.bootstrap)):
        wait_for(lambda: unpublished(app.dsn) == 0, what="the relay to publish the last edit")

    report = rebuild.run(app.dsn, infra.bootstrap)
    assert report.undecodable == 0
    assert report.events >= scalar(app.dsn, "SELECT count(*) FROM event_store") + 8
    assert report.differences == {t: 0 for t in PROJECTION_TABLES}, report.differences
    for table in ("subscriptions", "occurrence_orders", "order_payments", "variants", "order_dues"):
        assert scalar(app.dsn, f"SELECT count(*) FROM {table}") > 0  # the comparison compared something

    # the comparison can fail: a live row that no event explains is found, and --swap repairs it
    with psycopg.connect(app.dsn) as conn:
        conn.execute("UPDATE subscriptions SET ends_at = '2030-01-01' WHERE subscription_id = %s", [sub["id"]])
    drifted = rebuild.run(app.dsn, infra.bootstrap)
    assert drifted.differences["subscriptions"] == 2 and not drifted.identical
    assert rebuild.run(app.dsn, infra.bootstrap, swap=True).swapped
    assert kit.ok(shop.manager.get(f"/shops/{shop.id}/subscriptions/{sub['id']}"))["ends_at"] is None
    assert rebuild.run(app.dsn, infra.bootstrap).identical


def test_a_missed_due_shows_its_occurrence_as_missed_with_its_reason_once_and_a_rebuild_equals_live(
        topics, admin, kit, app, infra, clock):
    shop = kit.make_shop(admin, app)
    sub = kit.ok(shop.manager.post(f"/shops/{shop.id}/subscriptions", kit.subscription_body(shop)), 201)
    first, second = shop.cycles[0], shop.cycles[1]
    clock(datetime.fromisoformat(second["closes_at"]) + timedelta(hours=1))  # both cycles closed, neither placed
    producer = kafka_clients.producer(infra.bootstrap)
    catalog = CatalogPublisher(producer=producer)  # make_shop projected its catalog directly: publish it for real
    catalog.variant(shop.id, "veg-box", "Veg box", unit_price=2500, currency="EUR")
    catalog.variant(shop.id, "eggs-6", "Eggs", unit_price=320, currency="EUR")
    missed = publish(producer, "OrderDueMissed", f"{sub['id']}:{first['id']}", 1, {
        "subscription_id": sub["id"], "order_cycle_id": first["id"], "shop_id": shop.id,
        "customer_id": sub["customer_id"], "schedule_id": sub["schedule_id"], "opens_at": first["opens_at"],
        "closes_at": first["closes_at"], "due_at": first["opens_at"], "due_reason": "cycle_opened",
        "reason": "open_processed_after_close", "late_placement": "while_open", "lateness_seconds": 302400.0})
    producer.flush()
    url = f"/shops/{shop.id}/subscriptions/{sub['id']}/occurrences"
    consumer = EventConsumer(app.dsn, "subscription-service", CONSUMED_TOPICS, apply, bootstrap=infra.bootstrap,
                             set_based=True)  # as entrypoints/consumer.py runs it
    with Worker(consumer), Worker(Relay(app.dsn, "subscription-service", bootstrap=infra.bootstrap)):
        wait_for(lambda: kit.ok(shop.manager.get(f"{url}/{first['id']}"))["state"] == "missed", timeout=90,
                 what="the consumer to apply the OrderDueMissed")
        wait_for(lambda: unpublished(app.dsn) == 0, what="the relay to publish the outbox")
        duplicates = consumer.stats.duplicates
        # redelivered (the same event again) and re-emitted (a new event id, the same decision and version)
        kafka_clients.send(producer, physical("scheduler.events"), missed.aggregate_id.encode(), encode(missed))
        again = publish(producer, "OrderDueMissed", missed.aggregate_id, 1,
                        {**missed.payload, "reason": "change_processed_after_close"})
        producer.flush()
        wait_for(lambda: consumer.stats.duplicates > duplicates and scalar(
            app.dsn, "SELECT count(*) FROM inbox WHERE event_id = %s", [again.event_id]) == 1,
            timeout=60, what="the consumer to skip the redelivery and apply the re-emitted event")
    occurrence = kit.ok(shop.manager.get(f"{url}/{first['id']}"))
    assert occurrence["state"] == "missed" and occurrence["total_is_estimate"] is True
    assert occurrence["missed"] == {"reason": "open_processed_after_close", "due_reason": "cycle_opened",
                                    "due_at": occurrence["opens_at"]}
    listed = kit.ok(shop.customer_api.get(url))["items"]
    assert [(o["order_cycle_id"], o["state"]) for o in listed[:2]] == [(first["id"], "missed"),
                                                                      (second["id"], "not_placed")]
    assert listed[1]["missed"] is None
    assert [o["order_cycle_id"] for o in kit.ok(shop.manager.get(url, query_string={"state": "missed"}))["items"]] \
        == [first["id"]]
    assert rows(app.dsn, "SELECT reason, version FROM missed_dues") == [("open_processed_after_close", 1)]

    report = rebuild.run(app.dsn, infra.bootstrap)
    assert report.undecodable == 0
    assert report.differences == {t: 0 for t in PROJECTION_TABLES}, report.differences
    assert "missed_dues" in PROJECTION_TABLES


def test_a_pause_until_a_date_ends_by_itself_once_when_its_pause_ended_arrives_and_a_rebuild_equals_live(
        topics, admin, kit, app, infra, clock):
    from subscription_service.entrypoints.consumer import RESUMED_AUTOMATICALLY, react

    shop = kit.make_shop(admin, app)
    sub = kit.ok(shop.manager.post(f"/shops/{shop.id}/subscriptions", kit.subscription_body(shop)), 201)
    url = f"/shops/{shop.id}/subscriptions/{sub['id']}"
    kit.ok(shop.session.post(f"{url}/holidays", {"from": "2026-03-25", "to": "2026-04-05"}))  # versions 2, 3
    kit.ok(shop.manager.post(f"{url}/pause", {}))  # 4, then unpaused (5): a pause whose end never comes
    kit.ok(shop.manager.post(f"{url}/unpause"))
    paused = kit.ok(shop.session.post(f"{url}/pause", {"until": "2026-04-01"}))  # 6
    assert paused["version"] == 6 and paused["paused_until"] == "2026-03-31T22:00:00+00:00"
    clock(datetime(2026, 3, 31, 22, tzinfo=UTC))
    producer = kafka_clients.producer(infra.bootstrap)
    catalog = CatalogPublisher(producer=producer)  # make_shop projected its catalog directly: publish it for real
    catalog.variant(shop.id, "veg-box", "Veg box", unit_price=2500, currency="EUR")
    catalog.variant(shop.id, "eggs-6", "Eggs", unit_price=320, currency="EUR")

    def pause_ended(version, resumes_at):
        return publish(producer, "PauseEnded", f"{sub['id']}:pause:{version}", 1, {
            "subscription_id": sub["id"], "shop_id": shop.id, "paused_version": version, "resumes_at": resumes_at,
            "lateness_seconds": 0.01})

    ended = pause_ended(6, paused["paused_until"])
    producer.flush()
    consumer = EventConsumer(app.dsn, "subscription-service", CONSUMED_TOPICS, react, bootstrap=infra.bootstrap,
                             set_based=True)  # as entrypoints/consumer.py runs it
    with Worker(consumer), Worker(Relay(app.dsn, "subscription-service", bootstrap=infra.bootstrap)):
        wait_for(lambda: kit.ok(shop.manager.get(url))["state"] == "active", timeout=90,
                 what="the consumer to resume the subscription")
        duplicates = consumer.stats.duplicates
        kafka_clients.send(producer, physical("scheduler.events"), ended.aggregate_id.encode(), encode(ended))
        stale = pause_ended(4, paused["paused_until"])  # the end of a pause that was unpaused by hand
        producer.flush()
        wait_for(lambda: consumer.stats.duplicates > duplicates and scalar(
            app.dsn, "SELECT count(*) FROM inbox WHERE event_id = %s", [stale.event_id]) == 1,
            timeout=60, what="the consumer to skip the redelivery and apply the stale end")
        wait_for(lambda: unpublished(app.dsn) == 0, what="the relay to publish the outbox")
    view = kit.ok(shop.customer_api.get(url))
    assert view["state"] == "active" and view["version"] == 7 and view["paused_until"] is None
    last = kit.ok(shop.manager.get(f"{url}/history"))["items"][-1]
    assert last["event_type"] == "SubscriptionUnpaused" and last["version"] == 7
    assert last["actor"] == {"type": "system", "id": "scheduler-service"} and last["reason"] == RESUMED_AUTOMATICALLY
    assert last["data"]["automatic"] is True
    published = [decode(r.value) for r in topic_records(infra.bootstrap, "subscriptions.events")
                 if r.key.decode() == sub["id"]]
    assert [e.event_type for e in published][-3:] == ["SubscriptionUnpaused", "SubscriptionPaused",
                                                      "SubscriptionUnpaused"]
    assert published[-1].payload["automatic"] is True and published[-2].payload["resumes_on"].isoformat() == \
        "2026-04-01"

    report = rebuild.run(app.dsn, infra.bootstrap)
    assert report.undecodable == 0
    assert report.differences == {t: 0 for t in PROJECTION_TABLES}, report.differences
    assert scalar(app.dsn, "SELECT count(*) FROM occurrence_skips WHERE skipped") == 2
