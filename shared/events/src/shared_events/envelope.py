"""The envelope every event travels in, on Kafka and in the outbox.

Wire format: UTF-8 JSON of the envelope with the payload inline. The payload is
validated strictly against its registered schema when produced (unknown fields,
wrong types and missing fields are errors) and tolerantly when consumed (unknown
fields are dropped, older schema versions are upcast to the newest one).
"""

from __future__ import annotations

import functools
import json
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, missing, validate

from shared_events import fastcodec, jsoncodec
from shared_events.registry import REGISTRY, DecodeError

MAX_EVENT_BYTES = 900_000  # below Kafka's default 1 MiB message limit


@dataclass(frozen=True)
class Envelope:
    """One event: identity, ordering within its aggregate, provenance, payload."""

    event_type: str
    aggregate_id: str
    aggregate_version: int
    payload: dict[str, Any]
    producer: str
    shop_id: str | None = None
    schema_version: int = 0  # 0 = the newest registered version
    event_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    occurred_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    correlation_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    causation_id: str | None = None

    def __post_init__(self) -> None:
        if self.schema_version == 0:
            object.__setattr__(self, "schema_version", REGISTRY.latest_version(self.event_type))
        if self.occurred_at.tzinfo is None:
            raise ValueError("occurred_at must be timezone-aware (UTC)")
        object.__setattr__(self, "occurred_at", self.occurred_at.astimezone(UTC))

    @property
    def topic_family(self) -> str:
        """The logical topic (without any deployment prefix), e.g. ``orders.events``."""
        return REGISTRY.spec(self.event_type, self.schema_version).topic

    def caused(self, **kwargs: Any) -> dict[str, Any]:
        """Provenance for an event caused by this one: same correlation, causation = this."""
        return {"correlation_id": self.correlation_id, "causation_id": self.event_id, **kwargs}

    def with_payload(self, payload: dict[str, Any]) -> Envelope:
        return replace(self, payload=payload)


def new_envelope(
    event_type: str,
    aggregate_id: str,
    aggregate_version: int,
    payload: dict[str, Any],
    *,
    producer: str,
    shop_id: str | None,
    occurred_at: datetime,
    correlation_id: str | None = None,
    causation_id: str | None = None,
) -> Envelope:
    """Build an envelope for the newest version of ``event_type``."""
    return Envelope(
        event_type=event_type,
        aggregate_id=str(aggregate_id),
        aggregate_version=aggregate_version,
        payload=payload,
        producer=producer,
        shop_id=str(shop_id) if shop_id is not None else None,
        occurred_at=occurred_at,
        correlation_id=correlation_id or str(uuid.uuid4()),
        causation_id=causation_id,
    )


class _EnvelopeSchema(Schema):
    event_id = fields.UUID(required=True)
    event_type = fields.String(required=True, validate=validate.Length(min=1, max=200))
    schema_version = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    aggregate_id = fields.String(required=True, validate=validate.Length(min=1, max=200))
    aggregate_version = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    occurred_at = fields.AwareDateTime(required=True, format="iso")
    shop_id = fields.String(required=True, allow_none=True)
    correlation_id = fields.String(required=True, validate=validate.Length(min=1, max=200))
    causation_id = fields.String(required=True, allow_none=True)
    producer = fields.String(required=True, validate=validate.Length(min=1, max=100))
    payload = fields.Dict(required=True, keys=fields.String())


_ENVELOPE_STRICT = _EnvelopeSchema(unknown=RAISE)
_ENVELOPE_TOLERANT = _EnvelopeSchema(unknown=EXCLUDE)


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime in an event payload: use UTC-aware datetimes")
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not allowed in an event payload")


@functools.cache
def _payload_schema(event_type: str, version: int, unknown: Any) -> Schema:
    """One schema instance per (type, version, unknown mode), reused: building one deep-copies every declared field,
    which cost as much as the validation itself (half a burst's encoding time). Instances keep no state between
    load/dump calls. Unknown types raise DecodeError (never cached)."""
    return REGISTRY.spec(event_type, version).schema(unknown=unknown)


class _Present(dict):  # type: ignore[type-arg]
    """A loaded payload to dump: an absent key reads as absent. marshmallow falls back to getattr() for a key
    a dict lacks, so an absent optional field named like a dict method (``items`` in a partial
    SubscriptionTerms) used to dump the bound method and fail."""

    def __missing__(self, key: str) -> Any:
        return missing


def _present(value: Any) -> Any:
    if isinstance(value, dict):
        return _Present({k: _present(v) for k, v in value.items()})
    if isinstance(value, list):
        return [_present(v) for v in value]
    return value


def to_wire(env: Envelope) -> dict[str, Any]:
    """Envelope as a JSON-able dict, payload validated strictly against its schema: through the codec's fast path
    (shared_events.fastcodec) when it answers, by marshmallow otherwise (same dict either way)."""
    wire_payload = fastcodec.payload_to_wire(env.event_type, env.schema_version, env.payload)
    if wire_payload is None:
        return _to_wire_marshmallow(env)
    return _wire(env, wire_payload)


def _to_wire_marshmallow(env: Envelope) -> dict[str, Any]:
    schema = _payload_schema(env.event_type, env.schema_version, RAISE)
    try:
        # strict on produce: unknown fields, floats for money, missing fields never leave us
        loaded = schema.load(json.loads(json.dumps(env.payload, default=_jsonable)))
    except ValidationError as exc:
        raise ValueError(f"{env.event_type}@{env.schema_version} payload invalid: {exc.messages}") from exc
    wire_payload = schema.dump(_present(loaded))
    return _wire(env, wire_payload)


def _wire(env: Envelope, wire_payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "event_id": env.event_id,
        "event_type": env.event_type,
        "schema_version": env.schema_version,
        "aggregate_id": env.aggregate_id,
        "aggregate_version": env.aggregate_version,
        "occurred_at": env.occurred_at.isoformat(),
        "shop_id": env.shop_id,
        "correlation_id": env.correlation_id,
        "causation_id": env.causation_id,
        "producer": env.producer,
        "payload": wire_payload,
    }


def encode(env: Envelope) -> bytes:
    """Strict: raises ValueError when the payload does not match its schema."""
    raw = jsoncodec.dumps(to_wire(env))
    if len(raw) > MAX_EVENT_BYTES:
        raise ValueError(f"{env.event_type} is {len(raw)} bytes, above {MAX_EVENT_BYTES}")
    return raw


def from_wire(doc: Any) -> Envelope:
    """Tolerant decode of an already-parsed JSON document. Raises DecodeError."""
    fast = _from_wire_fast(doc)
    if fast is not None:
        return fast
    return _from_wire_marshmallow(doc)


def _from_wire_marshmallow(doc: Any) -> Envelope:
    if not isinstance(doc, dict):
        raise DecodeError("envelope is not a JSON object")
    try:
        head = _ENVELOPE_TOLERANT.load(doc)
    except ValidationError as exc:
        raise DecodeError(f"bad envelope: {exc.messages}") from exc
    version, payload = REGISTRY.upcast(head["event_type"], head["schema_version"], head["payload"])
    try:
        loaded = _payload_schema(head["event_type"], version, EXCLUDE).load(payload)
    except ValidationError as exc:
        raise DecodeError(f"bad {head['event_type']}@{version} payload: {exc.messages}") from exc
    return _envelope(head, version, loaded)


def _envelope(head: dict[str, Any], version: int, payload: dict[str, Any]) -> Envelope:
    """An Envelope from a loaded envelope head (either decode path) and its loaded payload."""
    return Envelope(
        event_id=str(head["event_id"]),
        event_type=head["event_type"],
        schema_version=version,
        aggregate_id=head["aggregate_id"],
        aggregate_version=head["aggregate_version"],
        occurred_at=head["occurred_at"],
        shop_id=head["shop_id"],
        correlation_id=head["correlation_id"],
        causation_id=head["causation_id"],
        producer=head["producer"],
        payload=payload,
    )


def _from_wire_fast(doc: Any) -> Envelope | None:
    """from_wire's result through shared_events.fastcodec, or None when marshmallow must decide."""
    fast = fastcodec.from_wire(doc, REGISTRY.latest_version)
    if fast is None:
        return None
    head, payload = fast
    return _envelope(head, head["schema_version"], payload)


def decode(raw: bytes | str, *, parsed: Any = None) -> Envelope:
    """Bytes from Kafka or the outbox to an Envelope at the newest schema version.

    ``parsed``: ``jsoncodec.loads(raw)``, when the caller has parsed the record already (a replay's reader looks at
    each record's type first); left out (or None: a JSON ``null`` is parsed again, to the same error), it is parsed
    here. Raises DecodeError (a poison message: send it to the dead-letter topic).
    """
    if raw is None:
        raise DecodeError("empty message (tombstone)")
    if len(raw) > MAX_EVENT_BYTES:  # no producer of the platform may write more (encode refuses it)
        raise DecodeError(f"message of {len(raw)} bytes is too large (above {MAX_EVENT_BYTES})")
    if parsed is not None:
        return from_wire(parsed)
    try:
        doc = jsoncodec.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        if "depth limit" in str(exc):  # orjson refuses more than 1,024 levels (a few thousand brackets once
            raise DecodeError("not JSON: nested too deeply") from None  # stopped every consumer of a topic)
        raise DecodeError(f"not JSON: {exc}") from exc
    return from_wire(doc)
