"""shared_events.jsoncodec writes what the json module wrote, so an event's bytes do not depend on the encoder."""

import json
import uuid
from datetime import UTC, datetime

import psycopg.types.json
import pytest

from shared_events import Envelope, encode, jsoncodec
from shared_events.envelope import to_wire
from shared_events.examples import EXAMPLES


def _json_module(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


@pytest.mark.parametrize("event_type", sorted(EXAMPLES))
def test_every_event_example_encodes_to_the_bytes_the_json_module_wrote(event_type):
    env = Envelope(event_type=event_type, aggregate_id=str(uuid.uuid4()), aggregate_version=3,
                   payload=EXAMPLES[event_type], producer="test", occurred_at=datetime.now(UTC), shop_id="s")
    assert encode(env) == _json_module(to_wire(env))


@pytest.mark.parametrize("value", [
    "plain", "Crème brûlée, 1 kg — « bio »", "tab\there, new\nline, cr\r, nul\x00, bell\x07, del\x7f, unit\x1f",
    'quote " backslash \\ slash /', "emoji 🥕 and \u2028 line separator", "", 0, -1, 2**53, True, None,
    [], {}, {"nested": [{"a": [1, 2, {"b": None}]}]},
])
def test_json_values_encode_as_the_json_module_did_and_read_back_equal(value):
    doc = {"v": value}
    assert jsoncodec.dumps(doc) == _json_module(doc)
    assert jsoncodec.loads(jsoncodec.dumps(doc)) == doc


@pytest.mark.parametrize("raw", [b"NaN", b"[Infinity]", b"\xff\xfe", b"{", b"[" * 2000 + b"]" * 2000])
def test_what_is_not_json_is_a_value_error(raw):
    with pytest.raises(ValueError):
        jsoncodec.loads(raw)


def test_psycopg_writes_and_reads_json_with_it_and_non_string_keys_become_strings():
    dumper = psycopg.types.json.JsonbDumper(dict)
    assert bytes(dumper.dump({1: "a", "b": [1, 2]})) == b'{"1":"a","b":[1,2]}'
    loader = psycopg.types.json.JsonbLoader(psycopg.types.json.JsonbDumper.oid)
    assert loader.load(b'{"a": [1, {"b": null}]}') == {"a": [1, {"b": None}]}
