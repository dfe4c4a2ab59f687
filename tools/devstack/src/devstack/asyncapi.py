"""The AsyncAPI 3 document of the platform's Kafka topics (docs/asyncapi.json), generated from the registry in
shared/events so that other teams' tools (code generators, catalogues, validators) read the same contract as
docs/events.md: every topic (and its dead-letter topic), every event type at every schema version, each payload's
JSON Schema converted from its marshmallow contract by apispec's marshmallow plugin, the Kafka key and the record
headers (ours and the CloudEvents Kafka binding's, shared_events.binding).

Written by `make docs` (devstack.apidocs); tests/contracts/test_asyncapi.py validates it with the official parser.
"""

from __future__ import annotations

import json
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

import shared_events  # noqa: F401 - registers every type
from shared_events import binding
from shared_events.catalogue import CONSUMERS, sample_envelope
from shared_events.envelope import _EnvelopeSchema, to_wire
from shared_events.registry import REGISTRY, EventSpec
from shared_events.topics import DLQ_TOPIC_CONFIG, EVENT_TOPIC_CONFIG, dlq_name, event_topics

ASYNCAPI_VERSION = "3.0.0"
KAFKA_BINDING_VERSION = "0.5.0"
DOCUMENT_VERSION = "1.0.0"
ENVELOPE = "Envelope"


def message_id(spec: EventSpec) -> str:
    return f"{spec.name}.v{spec.version}"


def _schemas() -> dict[str, Any]:
    """JSON Schemas of the envelope and of every payload (nested schemas as their own components).

    The contracts refuse unknown fields when we produce, but consumers must ignore them (contracts grow by
    optional fields), so the published schemas do not forbid additional properties."""
    converter = APISpec("events", DOCUMENT_VERSION, "3.1.0", plugins=[MarshmallowPlugin()])
    converter.components.schema(ENVELOPE, schema=_EnvelopeSchema)
    for spec in REGISTRY.all_specs():
        converter.components.schema(message_id(spec), schema=spec.schema)
    schemas: dict[str, Any] = converter.to_dict()["components"]["schemas"]
    for schema in schemas.values():
        schema.pop("additionalProperties", None)
    return schemas


def _headers(event_type: str | None, producer: str) -> dict[str, Any]:
    """The record headers of an event (``event_type`` None: any type of the topic)."""
    def fixed(value: str | None, description: str) -> dict[str, Any]:
        return {"type": "string", "description": description, **({"const": value} if value else {})}

    return {
        "type": "object",
        "required": list(binding.HEADER_NAMES),
        "properties": {
            "event_type": fixed(event_type, "The event type (our own header, also the envelope's event_type)."),
            "ce_specversion": fixed(binding.SPEC_VERSION, "CloudEvents Kafka binding: the CloudEvents version."),
            "ce_id": {"type": "string", "format": "uuid",
                      "description": "CloudEvents Kafka binding: the envelope's event_id."},
            "ce_source": fixed(binding.source(producer),
                               "CloudEvents Kafka binding: the producing service, as a URI reference."),
            "ce_type": fixed(event_type, "CloudEvents Kafka binding: the event type."),
            "ce_time": {"type": "string", "format": "date-time",
                        "description": "CloudEvents Kafka binding: the envelope's occurred_at (UTC, RFC 3339)."},
            "content-type": fixed(binding.CONTENT_TYPE, "CloudEvents Kafka binding: the value's content type."),
        },
    }


def _message(spec: EventSpec, producer: str) -> dict[str, Any]:
    sample = sample_envelope(spec)
    return {
        "name": spec.name,
        "title": f"{spec.name} (schema version {spec.version})",
        "summary": spec.doc.split("\n\n")[0].replace("\n", " ") if spec.doc else spec.name,
        "description": f"{spec.doc}\n\nAggregate: {spec.aggregate}. The record's value is the envelope with this "
                       "payload; its key is the aggregate id.",
        "contentType": binding.CONTENT_TYPE,
        "correlationId": {"description": "Shared by every event that one request or boundary caused.",
                          "location": "$message.payload#/correlation_id"},
        "headers": _headers(spec.name, producer),
        "payload": {
            "allOf": [
                {"$ref": f"#/components/schemas/{ENVELOPE}"},
                {"type": "object", "properties": {
                    "event_type": {"const": spec.name},
                    "schema_version": {"const": spec.version},
                    "producer": {"const": producer},
                    "payload": {"$ref": f"#/components/schemas/{message_id(spec)}"},
                }},
            ],
        },
        "bindings": {"kafka": {"key": {"type": "string", "description": f"The {spec.aggregate}'s aggregate id."},
                               "bindingVersion": KAFKA_BINDING_VERSION}},
        "examples": [{
            "name": "sample",
            "summary": f"shared/events/src/shared_events/samples/{spec.name}@{spec.version}.json",
            "headers": {k: v.decode() for k, v in binding.headers(sample.event_id, spec.name, producer,
                                                                   sample.occurred_at)},
            "payload": to_wire(sample),
        }],
    }


def _dead_letter() -> dict[str, Any]:
    return {
        "name": "DeadLetter",
        "title": "A record that a consumer could not apply",
        "summary": "The original key, value and headers, unchanged, with why and where it failed in dlq.* headers.",
        "description": "`platformctl dlq replay` sends it back to its topic with the `dlq.replay` header after a fix "
                       "(docs/operations.md).",
        "headers": {"type": "object", "required": ["dlq.error", "dlq.source.topic", "dlq.source.partition",
                                                   "dlq.source.offset", "dlq.consumer", "dlq.at"],
                    "properties": {
                        "dlq.error": {"type": "string", "description": "The error (at most 4000 characters)."},
                        "dlq.source.topic": {"type": "string", "description": "The topic it was read from."},
                        "dlq.source.partition": {"type": "string", "description": "Its partition (decimal)."},
                        "dlq.source.offset": {"type": "string", "description": "Its offset (decimal)."},
                        "dlq.consumer": {"type": "string", "description": "The consumer group that gave up."},
                        "dlq.at": {"type": "string", "description": "When (Unix seconds)."}}},
        "payload": {"description": "The original record's value (bytes; usually an envelope, maybe not JSON)."},
        "bindings": {"kafka": {"key": {"type": "string", "description": "The original record's key."},
                               "bindingVersion": KAFKA_BINDING_VERSION}},
    }


def _channel_binding(name: str, partitions: int, configs: dict[str, str]) -> dict[str, Any]:
    return {"kafka": {"topic": name, "partitions": partitions,
                      "topicConfiguration": {"cleanup.policy": [configs["cleanup.policy"]],
                                             "retention.ms": int(configs["retention.ms"])},
                      "bindingVersion": KAFKA_BINDING_VERSION}}


def document() -> dict[str, Any]:
    """The AsyncAPI 3 document, as a JSON-able dict in a stable order."""
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for topic in event_topics():
        specs = [s for s in REGISTRY.all_specs() if s.topic == topic.name]
        consumers = ", ".join(CONSUMERS.get(topic.name, [])) or "none of ours"
        channels[topic.name] = {
            "address": topic.name,
            "title": topic.name,
            "description": f"Produced by {topic.owner}; read by {consumers}. Records are kept forever (the system "
                           "of record); the key is the aggregate id, so an aggregate's events keep their order. A "
                           "deployment may prefix every topic name (TOPIC_PREFIX).",
            "messages": {message_id(s): {"$ref": f"#/components/messages/{message_id(s)}"} for s in specs},
            "bindings": _channel_binding(topic.name, topic.partitions, EVENT_TOPIC_CONFIG),
        }
        operations[f"{topic.owner}.sends.{topic.name}"] = {
            "action": "send",
            "title": f"{topic.owner} publishes {topic.name}",
            "description": "Through the transactional outbox and its relay (idempotent producer, acks=all): at "
                           "least once, in order per aggregate; consumers drop copies by event_id.",
            "channel": {"$ref": f"#/channels/{topic.name}"},
            "messages": [{"$ref": f"#/channels/{topic.name}/messages/{message_id(s)}"} for s in specs],
        }
        for s in specs:
            messages[message_id(s)] = _message(s, topic.owner)
        dlq = dlq_name(topic.name)
        channels[dlq] = {
            "address": dlq,
            "title": dlq,
            "description": f"Dead letters of {topic.name}: records a consumer could not decode or apply.",
            "messages": {"DeadLetter": {"$ref": "#/components/messages/DeadLetter"}},
            "bindings": _channel_binding(dlq, 1, DLQ_TOPIC_CONFIG),
        }
        operations[f"consumers.dead-letter.{topic.name}"] = {
            "action": "send",
            "title": f"A consumer of {topic.name} dead-letters a record",
            "channel": {"$ref": f"#/channels/{dlq}"},
            "messages": [{"$ref": f"#/channels/{dlq}/messages/DeadLetter"}],
        }
    messages["DeadLetter"] = _dead_letter()
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "Recurring orders: events",
            "version": DOCUMENT_VERSION,
            "description": "Every Kafka topic of the recurring-orders platform, every event type and schema version. "
                           "Generated from shared/events by `make docs`; docs/events.md says the same for people. "
                           "Every record is also a CloudEvent (Kafka protocol binding, binary content mode).",
        },
        "defaultContentType": binding.CONTENT_TYPE,
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": _schemas()},
    }


def render() -> str:
    return json.dumps(document(), indent=2, ensure_ascii=False) + "\n"
