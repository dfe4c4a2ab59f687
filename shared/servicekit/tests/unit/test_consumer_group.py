"""CONSUMER_GROUP names a consumer's Kafka group; the inbox stays the service's whatever the group, so a new group
(a blue/green switch, lost offsets) replays the topics without applying anything twice."""

import pytest

from servicekit.config import Settings
from servicekit.runners import make_consumer


def _consumer(monkeypatch: pytest.MonkeyPatch, group: str | None = None, default: str | None = None):
    monkeypatch.delenv("CONSUMER_GROUP", raising=False)
    if group is not None:
        monkeypatch.setenv("CONSUMER_GROUP", group)
    settings = Settings.from_env("order-service", 8003)
    return make_consumer(settings, ["orders.events"], lambda conn, env: None, group=default)


def test_a_consumer_group_from_the_configuration_keeps_the_services_inbox(monkeypatch):
    consumer = _consumer(monkeypatch, "order-service-green", default="t1.order-service")
    assert consumer.group == "order-service-green"
    assert consumer.name == "order-service"


def test_without_configuration_the_consumer_group_is_the_services_default_or_its_name(monkeypatch):
    assert _consumer(monkeypatch, default="t1.order-service").group == "t1.order-service"
    assert _consumer(monkeypatch).group == "order-service"
    assert _consumer(monkeypatch, "").group == "order-service"
    assert _consumer(monkeypatch, default="t1.order-service").name == "order-service"
