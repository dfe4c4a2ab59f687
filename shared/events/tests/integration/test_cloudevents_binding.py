"""Other teams' tools read our Kafka records as CloudEvents (Kafka protocol binding, binary content mode): the
records the outbox relay and the catalog publisher put on real Kafka, parsed by the CloudEvents Python SDK."""

import json
import threading
import uuid
from datetime import UTC, datetime

import psycopg
import pytest
from cloudevents.core.bindings import kafka as ce_kafka

from devstack.testing import scalar, wait_for
from shared_events import Envelope, decode, outbox
from shared_events import kafka as kafka_clients
from shared_events.examples import EXAMPLES
from shared_events.platform import CatalogPublisher
from shared_events.relay import Relay
from shared_events.topics import physical

pytestmark = pytest.mark.integration


def as_cloudevent(rec):
    """The SDK's CloudEvent of one of our records, as a CloudEvents-aware consumer would build it."""
    message = ce_kafka.KafkaMessage(headers={k: v for k, v in rec.headers or []}, key=rec.key, value=rec.value)
    return ce_kafka.from_kafka_event(message)


def records(bootstrap, topic):
    """The topic's records; a topic created for this test may not have a leader for every partition yet."""
    got = []

    def read():
        try:
            got[:] = kafka_clients.read_topic(topic, bootstrap)
        except kafka_clients.KafkaException:
            return False
        return True

    wait_for(read, what=f"{topic} to be readable")
    return got


def assert_is_our_envelope_as_a_cloudevent(rec, env: Envelope):
    event = as_cloudevent(rec)
    assert event.get_specversion() == "1.0"
    assert event.get_id() == env.event_id
    assert event.get_source() == f"/recurring-orders/{env.producer}"
    assert event.get_type() == env.event_type
    assert event.get_time() == env.occurred_at
    assert event.get_datacontenttype() == "application/json"
    assert event.get_extension("partitionkey") == env.aggregate_id  # the Kafka key
    assert event.get_data() == json.loads(rec.value)  # the envelope, unchanged
    assert dict(rec.headers)["event_type"] == env.event_type.encode()  # our own header is kept


def test_the_relay_s_records_are_cloudevents_whose_attributes_are_the_envelope_s(infra, topic_prefix, make_db):
    dsn = make_db(None)
    token_id = str(uuid.uuid4())
    issued = Envelope(event_type="TokenIssued", aggregate_id=token_id, aggregate_version=1,
                      payload=dict(EXAMPLES["TokenIssued"], token_id=token_id, token_hash=uuid.uuid4().hex * 2),
                      producer="subscription-service", occurred_at=datetime(2026, 3, 31, 7, 0, 0, 123456, UTC))
    with psycopg.connect(dsn, autocommit=True) as conn:
        outbox.append(conn, [issued])
    relay = Relay(dsn, "subscription-service", bootstrap=infra.bootstrap)
    thread = threading.Thread(target=relay.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: scalar(dsn, "SELECT count(*) FROM event_store WHERE published_at IS NULL") == 0,
                 what="the relay to publish")
    finally:
        relay.stop()
        thread.join(60)
    ours = [rec for rec in records(infra.bootstrap, physical("identity.events"))
            if decode(rec.value).event_id == issued.event_id]
    assert len(ours) == 1
    assert_is_our_envelope_as_a_cloudevent(ours[0], issued)


def test_the_catalog_publisher_s_records_are_cloudevents_too(infra, topic_prefix):
    publisher = CatalogPublisher(infra.bootstrap)
    shop_id = str(uuid.uuid4())
    sent = publisher.variant(shop_id, "eggs-6", "Eggs", unit_price=320, currency="EUR", on_hand=40)
    publisher.flush()
    ours = [rec for rec in records(infra.bootstrap, physical("catalog.events"))
            if rec.key == sent.aggregate_id.encode()]
    assert len(ours) == 1
    assert_is_our_envelope_as_a_cloudevent(ours[0], sent)
