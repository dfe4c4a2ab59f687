"""The fast outbox encoder writes exactly what shared_events.encode writes, and refuses what it refuses."""

import copy
from datetime import UTC, datetime, timedelta, timezone

import pytest

from order_service.adapters import wire
from shared_events import Envelope, encode
from shared_events.contracts.orders import TOPIC
from shared_events.examples import EXAMPLES
from shared_events.registry import REGISTRY

ORDER_TYPES = REGISTRY.types_of_topic(TOPIC)


def envelope(event_type, payload):
    return Envelope(event_type=event_type, aggregate_id="o-1", aggregate_version=3, payload=payload,
                    producer="order-service", shop_id="shop", occurred_at=datetime(2026, 4, 1, 7, tzinfo=UTC),
                    correlation_id="corr", causation_id="cause")


def outcome(fn, env):
    try:
        return fn(env)
    except ValueError:
        return "refused"


@pytest.mark.parametrize("event_type", ORDER_TYPES)
def test_every_order_event_is_compiled_and_encoded_byte_for_byte_like_the_shared_encoder(event_type):
    assert wire._compiled(event_type, 1) is not None
    env = envelope(event_type, EXAMPLES[event_type])
    assert wire.encode(env) == encode(env)


def mutations(payload):
    """Valid and invalid variants of a payload, each as (description, payload)."""
    for key in payload:
        smaller = dict(payload)
        del smaller[key]
        yield f"without {key}", smaller
        for value in (None, 1.5, True, "x" * 600, "", -1, [], {}, "2026-04-01T07:00:00",
                      datetime(2026, 4, 1, 7), datetime(2026, 4, 1, 9, tzinfo=timezone(timedelta(hours=2)))):
            yield f"{key}={value!r}", {**payload, key: value}
    yield "unknown field", {**payload, "surprise": 1}
    for key, value in payload.items():
        if isinstance(value, dict):
            yield f"{key} with an unknown field", {**payload, key: {**value, "surprise": 1}}
        if isinstance(value, list) and value and isinstance(value[0], dict):
            for inner in value[0]:
                broken = copy.deepcopy(value)
                broken[0][inner] = -5
                yield f"{key}[0].{inner}=-5", {**payload, key: broken}


@pytest.mark.parametrize("event_type", ORDER_TYPES)
def test_valid_and_invalid_variants_get_the_same_answer_from_both_encoders(event_type):
    for what, payload in mutations(EXAMPLES[event_type]):
        env = envelope(event_type, payload)
        assert outcome(wire.encode, env) == outcome(encode, env), what


def test_a_type_outside_what_it_compiles_goes_through_the_shared_encoder():
    env = envelope("ShopCreated", EXAMPLES["ShopCreated"])  # Email and Float fields
    assert wire.encode(env) == encode(env)
