"""One OrderDue takes the route of many: the reaction to one is the bulk handler called with one."""

from order_service.config import ReactionSettings
from order_service.entrypoints import consumer
from order_service.service_layer import cycles
from order_service.service_layer.reactions import react
from shared_events import Envelope
from shared_events.examples import EXAMPLES


def test_one_order_due_is_applied_by_the_bulk_handler_as_a_run_of_one(monkeypatch):
    runs = []
    monkeypatch.setattr(cycles, "on_order_dues", lambda conn, envs, cfg: runs.append(list(envs)))
    env = Envelope(event_type="OrderDue", aggregate_id="a", aggregate_version=1, payload=EXAMPLES["OrderDue"],
                   producer="test")
    react(None, env, ReactionSettings())  # type: ignore[arg-type]
    assert runs == [[env]]


def test_the_order_consumer_applies_runs_of_order_due_with_the_same_bulk_handler(monkeypatch):
    runs = []
    monkeypatch.setattr(consumer, "on_order_dues", lambda conn, envs, cfg: runs.append(list(envs)))
    envs = [Envelope(event_type="OrderDue", aggregate_id=str(i), aggregate_version=1, payload=EXAMPLES["OrderDue"],
                     producer="test") for i in range(3)]
    handlers = consumer.bulk(ReactionSettings())
    assert set(handlers) == {"OrderDue", "VariantUpdated", "VariantDeleted"}
    handlers["OrderDue"](None, envs)  # type: ignore[arg-type]
    assert runs == [envs]
