"""Micro-benchmark of the event codec: encode and decode of one event, by marshmallow alone (the plain reading
of the contracts) and through shared_events.fastcodec (what encode and decode use), for the events a cycle moves
most (OrderDue, OrderPlaced) and the most of a replay (SubscriptionCreated). Not a test: it prints numbers.

With msgspec importable (it is not a dependency: ``uv pip install --target /tmp/msgspec msgspec`` and
``PYTHONPATH=/tmp/msgspec``), it also times msgspec Structs written to mirror OrderDue and OrderPlaced (envelope,
nested lines, totals, addresses and their validation rules): what replacing fastcodec by it would cost at best.

    .venv/bin/python bench/codec.py [--rounds 20000]
"""

from __future__ import annotations

import argparse
import sys
import timeit
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shared_events import Envelope, decode, encode, jsoncodec
from shared_events.envelope import _from_wire_marshmallow, _to_wire_marshmallow
from shared_events.examples import EXAMPLES

TYPES = ("OrderDue", "OrderPlaced", "SubscriptionCreated")


def _envelope(event_type: str) -> Envelope:
    return Envelope(event_type=event_type, aggregate_id="a-1", aggregate_version=3, payload=EXAMPLES[event_type],
                    producer="bench", shop_id="shop", occurred_at=datetime(2026, 4, 1, 7, tzinfo=UTC),
                    correlation_id="corr", causation_id="cause")


def _per_call_us(fn: object, rounds: int) -> float:
    """The best of five timings of ``rounds`` calls, in microseconds per call."""
    return min(timeit.repeat(fn, number=rounds, repeat=5)) / rounds * 1e6  # type: ignore[arg-type]


def _msgspec_paths() -> dict[str, tuple[object, object]]:
    """event type -> (encode, decode) by msgspec Structs mirroring the contract (bench/codec_msgspec.py), or {}
    without msgspec."""
    try:
        from bench import codec_msgspec
    except ImportError:
        return {}
    paths: dict[str, tuple[object, object]] = {}
    for event_type, wire_type in codec_msgspec.WIRES.items():
        raw = encode(_envelope(event_type))
        wire = codec_msgspec.msgspec.convert(jsoncodec.loads(raw), wire_type)  # validated, as on produce
        encoder, decoder = codec_msgspec.msgspec.json.Encoder(), codec_msgspec.msgspec.json.Decoder(wire_type)
        paths[event_type] = (lambda wire=wire, encoder=encoder: encoder.encode(wire),
                             lambda raw=raw, decoder=decoder: decoder.decode(raw))
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20000)
    rounds = parser.parse_args().rounds
    by_msgspec = _msgspec_paths()
    print(f"{'event':<22}{'path':<14}{'encode µs':>11}{'decode µs':>11}")
    for event_type in TYPES:
        env = _envelope(event_type)
        raw = encode(env)
        assert jsoncodec.dumps(_to_wire_marshmallow(env)) == raw and decode(raw) == _from_wire_marshmallow(
            jsoncodec.loads(raw))  # both paths agree before they are timed
        paths = {
            "marshmallow": (lambda env=env: jsoncodec.dumps(_to_wire_marshmallow(env)),
                            lambda raw=raw: _from_wire_marshmallow(jsoncodec.loads(raw))),
            "fastcodec": (lambda env=env: encode(env), lambda raw=raw: decode(raw)),
        }
        if event_type in by_msgspec:
            paths["msgspec"] = by_msgspec[event_type]
        for name, (enc, dec) in paths.items():
            print(f"{event_type:<22}{name:<14}{_per_call_us(enc, rounds):>11.1f}{_per_call_us(dec, rounds):>11.1f}")


if __name__ == "__main__":
    main()
