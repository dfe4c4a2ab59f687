"""Registry of event types: payload schema per (type, version), owning topic, upcasters.

Contracts evolve by adding optional fields (same version). A breaking change is a
new version registered beside the old one plus an upcaster from the old version,
so consumers always see the newest shape.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from marshmallow import Schema

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class DecodeError(Exception):
    """A message that cannot be understood: malformed, unknown type or version, bad payload."""


@dataclass(frozen=True)
class EventSpec:
    name: str
    version: int
    topic: str  # logical topic family, e.g. "orders.events"
    aggregate: str  # e.g. "Order"
    schema: type[Schema]
    doc: str


class Registry:
    def __init__(self) -> None:
        self._specs: dict[tuple[str, int], EventSpec] = {}
        self._upcasters: dict[tuple[str, int], Upcaster] = {}
        self._latest: dict[str, int] = {}  # name -> newest version (looked up for every event decoded)

    def register(
        self, name: str, version: int, *, topic: str, aggregate: str
    ) -> Callable[[type[Schema]], type[Schema]]:
        """Class decorator: register a payload schema for ``name`` at ``version``."""

        def deco(schema: type[Schema]) -> type[Schema]:
            key = (name, version)
            if key in self._specs:
                raise ValueError(f"{name}@{version} registered twice")
            doc = (schema.__doc__ or "").strip()
            self._specs[key] = EventSpec(name, version, topic, aggregate, schema, doc)
            self._latest[name] = max(version, self._latest.get(name, 0))
            return schema

        return deco

    def upcaster(self, name: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
        """Decorator: a function turning a ``from_version`` wire payload into ``from_version + 1``."""

        def deco(fn: Upcaster) -> Upcaster:
            self._upcasters[(name, from_version)] = fn
            return fn

        return deco

    def spec(self, name: str, version: int) -> EventSpec:
        try:
            return self._specs[(name, version)]
        except KeyError:
            raise DecodeError(f"unknown event type {name}@{version}") from None

    def latest_version(self, name: str) -> int:
        try:
            return self._latest[name]
        except KeyError:
            raise DecodeError(f"unknown event type {name}") from None

    def upcast(self, name: str, version: int, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        latest = self.latest_version(name)
        if version > latest:
            raise DecodeError(f"{name}@{version} is newer than this consumer knows ({latest})")
        self.spec(name, version)  # the old version must be known too
        while version < latest:
            step = self._upcasters.get((name, version))
            if step is None:
                raise DecodeError(f"no upcaster for {name}@{version}")
            payload = step(dict(payload))
            version += 1
        return version, payload

    def all_specs(self) -> list[EventSpec]:
        return sorted(self._specs.values(), key=lambda s: (s.topic, s.name, s.version))

    def types_of_topic(self, topic: str) -> list[str]:
        return sorted({s.name for s in self._specs.values() if s.topic == topic})


REGISTRY = Registry()
event = REGISTRY.register
upcaster = REGISTRY.upcaster
