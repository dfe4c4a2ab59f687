"""Envelope and contracts: strict on produce, tolerant on consume, golden samples still decode."""

import json
from datetime import UTC, datetime

import pytest
from marshmallow import Schema, fields

from shared_events import REGISTRY, DecodeError, Envelope, decode, encode
from shared_events.catalogue import SAMPLES, sample_envelope, sample_path
from shared_events.envelope import MAX_EVENT_BYTES
from shared_events.examples import EXAMPLES
from shared_events.registry import Registry


@pytest.mark.parametrize("spec", REGISTRY.all_specs(), ids=lambda s: f"{s.name}@{s.version}")
def test_every_event_type_round_trips_through_the_wire(spec):
    env = sample_envelope(spec)
    back = decode(encode(env))
    assert back.event_type == spec.name and back.schema_version == spec.version
    assert back.event_id == env.event_id and back.aggregate_version == 1
    assert encode(back) == encode(env)


@pytest.mark.parametrize("spec", REGISTRY.all_specs(), ids=lambda s: f"{s.name}@{s.version}")
def test_golden_sample_exists_and_still_decodes(spec):
    raw = sample_path(spec).read_bytes()
    env = decode(raw)
    assert env.event_type == spec.name


def test_every_golden_sample_belongs_to_a_registered_type():
    names = {f"{s.name}@{s.version}.json" for s in REGISTRY.all_specs()}
    assert {p.name for p in SAMPLES.glob("*.json")} == names


def test_every_event_type_has_an_example():
    assert {s.name for s in REGISTRY.all_specs()} == set(EXAMPLES)


def _env(event_type, payload):
    return Envelope(event_type=event_type, aggregate_id="a", aggregate_version=1, payload=payload, producer="test",
                    occurred_at=datetime(2026, 1, 1, tzinfo=UTC))


def test_producing_an_unknown_field_is_refused():
    payload = dict(EXAMPLES["TokenRevoked"], surprise=1)
    with pytest.raises(ValueError, match="surprise"):
        encode(_env("TokenRevoked", payload))


def test_producing_a_float_amount_is_refused():
    payload = dict(EXAMPLES["PaymentMarkedPaid"], amount=36.40)
    with pytest.raises(ValueError, match="amount"):
        encode(_env("PaymentMarkedPaid", payload))


def test_producing_without_a_required_field_is_refused():
    payload = dict(EXAMPLES["OccurrenceSkipped"])
    del payload["order_cycle_id"]
    with pytest.raises(ValueError, match="order_cycle_id"):
        encode(_env("OccurrenceSkipped", payload))


def test_consuming_ignores_fields_added_by_a_newer_producer():
    doc = json.loads(encode(_env("TokenRevoked", EXAMPLES["TokenRevoked"])))
    doc["payload"]["added_later"] = {"x": 1}
    doc["added_to_envelope"] = True
    env = decode(json.dumps(doc).encode())
    assert "added_later" not in env.payload


@pytest.mark.parametrize(
    "raw, message",
    [
        (b"\x00\xff not json", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b'{"event_id": ' + b"{\"a\": " * 5000 + b"1" + b"}" * 5001, "nested too deeply"),
        (b'{"event_type": "X"}', "bad envelope"),
        (None, "tombstone"),
    ],
)
def test_malformed_messages_raise_decode_error(raw, message):
    with pytest.raises(DecodeError, match=message):
        decode(raw)


def test_a_record_larger_than_any_producer_may_write_raises_decode_error_even_when_well_formed():
    doc = json.loads(encode(_env("TokenRevoked", EXAMPLES["TokenRevoked"])))
    fits = json.dumps(dict(doc, padding="x" * (MAX_EVENT_BYTES - len(json.dumps(doc)) - 20))).encode()
    assert decode(fits).event_type == "TokenRevoked"  # an unknown field, tolerated
    oversized = json.dumps(dict(doc, padding="x" * MAX_EVENT_BYTES)).encode()
    assert len(oversized) < 1_048_576  # Kafka's default limit lets it through
    with pytest.raises(DecodeError, match="too large"):
        decode(oversized)


def test_unknown_type_and_future_version_raise_decode_error():
    doc = json.loads(encode(_env("TokenRevoked", EXAMPLES["TokenRevoked"])))
    with pytest.raises(DecodeError, match="unknown event type"):
        decode(json.dumps(dict(doc, event_type="NoSuchThing")).encode())
    with pytest.raises(DecodeError, match="newer than this consumer"):
        decode(json.dumps(dict(doc, schema_version=99)).encode())


def test_a_wrong_payload_type_on_consume_raises_decode_error():
    doc = json.loads(encode(_env("TokenRevoked", EXAMPLES["TokenRevoked"])))
    doc["payload"]["token_id"] = 12
    with pytest.raises(DecodeError, match="token_id"):
        decode(json.dumps(doc).encode())


def test_old_versions_are_upcast_to_the_newest():
    reg = Registry()

    @reg.register("Probe", 1, topic="t", aggregate="P")
    class ProbeV1(Schema):
        amount_eur = fields.Float()

    @reg.register("Probe", 2, topic="t", aggregate="P")
    class ProbeV2(Schema):
        amount = fields.Integer()
        currency = fields.String()

    @reg.upcaster("Probe", 1)
    def _v1_to_v2(p):
        return {"amount": round(p["amount_eur"] * 100), "currency": "EUR"}

    assert reg.upcast("Probe", 1, {"amount_eur": 12.5}) == (2, {"amount": 1250, "currency": "EUR"})
    assert reg.upcast("Probe", 2, {"amount": 5, "currency": "EUR"}) == (2, {"amount": 5, "currency": "EUR"})


def test_naive_times_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        Envelope(event_type="TokenRevoked", aggregate_id="a", aggregate_version=1, payload={}, producer="t",
                 occurred_at=datetime(2026, 1, 1))


def test_fees_round_half_up_and_an_empty_order_costs_nothing():
    from shared_events.money import order_totals, percent_of

    assert percent_of(1000, 150) == 15 and percent_of(1, 5000) == 1 and percent_of(3, 1666) == 0
    assert order_totals(3140, (500, 0), (0, 150)) == {"item_total": 3140, "shipping_fee": 500, "payment_fee": 55,
                                                       "shipping_tax": 0, "payment_tax": 0, "tax_total": 0,
                                                       "total": 3695}
    assert order_totals(0, (500, 0), (30, 150))["total"] == 0


def test_an_item_is_priced_at_its_catalog_price_else_at_its_last_estimate():
    from shared_events.money import unit_price

    assert unit_price(1421, 1117) == 1421 and unit_price(0, 1117) == 0
    assert unit_price(None, 1117) == 1117 and unit_price(None, None) is None


def test_a_variant_updated_from_before_the_supplier_decodes_unchanged_with_no_supplier():
    raw = SAMPLES.joinpath("VariantUpdated@1.json").read_bytes()
    assert "supplier" not in json.loads(raw)["payload"]  # the golden sample was written before the field
    env = decode(raw)
    assert env.payload["supplier"] is None
    assert {k: v for k, v in env.payload.items() if k not in ("supplier", "tax_category")} == json.loads(raw)["payload"]
    assert REGISTRY.latest_version("VariantUpdated") == 1  # an optional field: no new version, no upcaster


def test_events_from_before_tax_decode_untaxed():
    variant = decode(SAMPLES.joinpath("VariantUpdated@1.json").read_bytes()).payload
    assert variant["tax_category"] is None
    placed = decode(SAMPLES.joinpath("OrderPlaced@1.json").read_bytes()).payload
    assert "tax_total" not in json.loads(SAMPLES.joinpath("OrderPlaced@1.json").read_bytes())["payload"]["totals"]
    assert placed["prices_include_tax"] is False
    assert placed["totals"]["tax_total"] == 0 and placed["totals"]["shipping_tax"] == 0
    assert all(line["tax"] == 0 and line["tax_category"] is None and line["tax_rate_bp"] == 0
               for line in placed["lines"])
    method = decode(SAMPLES.joinpath("ShippingMethodSaved@1.json").read_bytes()).payload
    assert method["tax_category"] is None
    shop = decode(SAMPLES.joinpath("ShopCreated@1.json").read_bytes()).payload
    assert "tax_rates" not in shop["settings"] and "prices_include_tax" not in shop["settings"]


def test_tax_categories_are_slugs_and_rates_between_zero_and_one_hundred_percent():
    assert decode(encode(_env("VariantUpdated", EXAMPLES["VariantUpdated"]))).payload["tax_category"] == "reduced"
    with pytest.raises(ValueError, match="tax_category"):
        encode(_env("VariantUpdated", dict(EXAMPLES["VariantUpdated"], tax_category="Reduced Rate")))
    settings = EXAMPLES["ShopCreated"]["settings"]
    for rate in (-1, 10_001):
        bad = dict(settings, tax_rates=[{"category": "standard", "rate_bp": rate}])
        with pytest.raises(ValueError, match="rate_bp"):
            encode(_env("ShopCreated", dict(EXAMPLES["ShopCreated"], settings=bad)))


def test_a_variant_updated_carries_its_supplier_and_refuses_an_empty_one():
    env = decode(encode(_env("VariantUpdated", EXAMPLES["VariantUpdated"])))
    assert env.payload["supplier"] == "Ferme des Trois Chênes"
    with pytest.raises(ValueError, match="supplier"):
        encode(_env("VariantUpdated", dict(EXAMPLES["VariantUpdated"], supplier="")))
