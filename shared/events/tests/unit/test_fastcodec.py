"""The fast encode/decode paths give exactly what the marshmallow paths give, and refuse what they refuse."""

import copy
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from shared_events import REGISTRY, DecodeError, Envelope, decode, encode, fastcodec
from shared_events.catalogue import sample_path
from shared_events.envelope import _from_wire_marshmallow, _to_wire_marshmallow, from_wire, to_wire
from shared_events.examples import EXAMPLES

SPECS = REGISTRY.all_specs()
LATEST = [s for s in SPECS if s.version == REGISTRY.latest_version(s.name)]


def envelope(event_type, payload, version=0):
    return Envelope(event_type=event_type, aggregate_id="a-1", aggregate_version=3, payload=payload,
                    producer="test", shop_id="shop", schema_version=version,
                    occurred_at=datetime(2026, 4, 1, 7, tzinfo=UTC), correlation_id="corr", causation_id="cause")


def encoded(fn, env):
    try:
        return json.dumps(fn(env), separators=(",", ":"), ensure_ascii=False)
    except ValueError:
        return "refused"


def decoded(fn, doc):
    try:
        env = fn(copy.deepcopy(doc))
    except DecodeError:
        return "refused"
    # everything, key order of every dict included, and the types of the values
    return repr(env), json.dumps(env.payload, default=repr), type(env.occurred_at.tzinfo)


def same_envelope(a, b):
    assert a == b
    assert repr(a.payload) == repr(b.payload)  # same key order, same value types


@pytest.mark.parametrize("spec", LATEST, ids=lambda s: f"{s.name}@{s.version}")
def test_every_current_event_type_is_compiled_both_ways(spec):
    assert fastcodec.payload_loader(spec.name, spec.version) is not None
    assert fastcodec.payload_dumper(spec.name, spec.version) is not None


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: f"{s.name}@{s.version}")
def test_the_golden_sample_decodes_to_the_same_envelope_both_ways(spec):
    doc = json.loads(sample_path(spec).read_bytes())
    same_envelope(from_wire(copy.deepcopy(doc)), _from_wire_marshmallow(doc))


@pytest.mark.parametrize("spec", LATEST, ids=lambda s: f"{s.name}@{s.version}")
def test_the_example_encodes_to_the_same_bytes_and_decodes_to_the_same_envelope(spec):
    env = envelope(spec.name, EXAMPLES[spec.name])
    assert to_wire(env) == _to_wire_marshmallow(env)
    assert encode(env) == json.dumps(_to_wire_marshmallow(env), separators=(",", ":"), ensure_ascii=False).encode()
    doc = json.loads(encode(env))
    same_envelope(from_wire(copy.deepcopy(doc)), _from_wire_marshmallow(doc))


ODD_VALUES = (None, 1.5, 0.0, float("nan"), 7, True, False, "x" * 600, "", "a", -1, 0, [], {}, [1], {"a": 1},
              "2026-04-01T07:00:00", "2026-04-01T07:00:00+02:00", "2026-04-01T07:00:00Z", "2026-04-01",
              "not a date", "EUR", "FR", "someone@example.org", "not an email", "stripe", "keep", "true",
              datetime(2026, 4, 1, 7), datetime(2026, 4, 1, 9, tzinfo=timezone(timedelta(hours=2))))
INNER_ODD_VALUES = (None, 1.5, True, "", "x" * 600, -1, [], {}, "2026-04-01T07:00:00", "not an email",
                    datetime(2026, 4, 1, 7))


def mutations(payload):
    """Valid and invalid variants of a payload, each as (description, payload)."""
    yield "as is", payload
    for key in payload:
        smaller = dict(payload)
        del smaller[key]
        yield f"without {key}", smaller
        for value in ODD_VALUES:
            yield f"{key}={value!r}", {**payload, key: value}
    yield "unknown field", {**payload, "surprise": 1}
    for key, value in payload.items():
        if isinstance(value, dict):
            yield f"{key} with an unknown field", {**payload, key: {**value, "surprise": 1}}
            for inner in value:
                smaller = {k: v for k, v in value.items() if k != inner}
                yield f"{key} without {inner}", {**payload, key: smaller}
                for odd in INNER_ODD_VALUES:
                    yield f"{key}.{inner}={odd!r}", {**payload, key: {**value, inner: odd}}
        if isinstance(value, list) and value and isinstance(value[0], dict):
            for inner in value[0]:
                for odd in (-5, None, "", 2.5, "x" * 300):
                    broken = copy.deepcopy(value)
                    broken[0][inner] = odd
                    yield f"{key}[0].{inner}={odd!r}", {**payload, key: broken}
            yield f"{key} with an unknown field in an item", {**payload, key: [{**value[0], "surprise": 1}]}


def wire_doc(event_type, payload):
    """A JSON document as a producer that does not validate could have written it."""
    return json.loads(json.dumps({
        "event_id": "0b6f3f1e-4d1c-4a57-9d0f-3c1f4e2b9a10", "event_type": event_type, "schema_version": 1,
        "aggregate_id": "a-1", "aggregate_version": 2, "occurred_at": "2026-04-01T07:00:00+00:00", "shop_id": "s",
        "correlation_id": "c", "causation_id": None, "producer": "p", "payload": payload}, default=str))


@pytest.mark.parametrize("spec", LATEST, ids=lambda s: f"{s.name}@{s.version}")
def test_valid_and_invalid_payloads_get_the_same_answer_from_both_paths(spec):
    for what, payload in mutations(EXAMPLES[spec.name]):
        env = envelope(spec.name, payload)
        assert encoded(to_wire, env) == encoded(_to_wire_marshmallow, env), f"encode {what}"
        doc = wire_doc(spec.name, payload)
        doc["schema_version"] = spec.version
        assert decoded(from_wire, doc) == decoded(_from_wire_marshmallow, doc), f"decode {what}"


HEAD_VARIANTS = [
    ("event_id", "0B6F3F1E-4D1C-4A57-9D0F-3C1F4E2B9A10"), ("event_id", "0b6f3f1e4d1c4a579d0f3c1f4e2b9a10"),
    ("event_id", "nope"), ("event_id", 5), ("event_type", ""), ("event_type", "Nope"), ("event_type", 3),
    ("schema_version", 0), ("schema_version", "1"), ("schema_version", True), ("schema_version", 1.0),
    ("schema_version", 99), ("aggregate_id", ""), ("aggregate_id", "x" * 201), ("aggregate_id", 7),
    ("aggregate_version", 0), ("aggregate_version", -1), ("aggregate_version", "3"), ("occurred_at", "2026-04-01"),
    ("occurred_at", "2026-04-01T07:00:00"), ("occurred_at", "2026-04-01T09:00:00+02:00"),
    ("occurred_at", "2026-04-01T07:00:00Z"), ("occurred_at", 17), ("shop_id", None), ("shop_id", 3),
    ("correlation_id", ""), ("correlation_id", None), ("causation_id", "x"), ("causation_id", 4),
    ("producer", ""), ("producer", "p" * 101), ("payload", []), ("payload", None), ("extra", "dropped"),
]


@pytest.mark.parametrize("key,value", HEAD_VARIANTS)
def test_envelope_variants_get_the_same_answer_from_both_paths(key, value):
    doc = wire_doc("OrderDue", EXAMPLES["OrderDue"])
    doc[key] = value
    assert decoded(from_wire, doc) == decoded(_from_wire_marshmallow, doc)
    del doc[key]
    assert decoded(from_wire, doc) == decoded(_from_wire_marshmallow, doc)


def test_decode_still_refuses_what_is_not_an_envelope():
    for raw in (b"[]", b"3", b'"x"', b"{}"):
        with pytest.raises(DecodeError):
            decode(raw)


def test_a_decoded_envelope_re_encodes_to_the_same_bytes():
    for spec in LATEST:
        raw = encode(envelope(spec.name, EXAMPLES[spec.name]))
        assert encode(decode(raw)) == raw
