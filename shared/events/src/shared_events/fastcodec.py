"""Fast paths of encode and decode, with exactly the contracts' rules (same bytes, same envelopes).

marshmallow does a lot per event each way (decode: a tolerant envelope load and a payload load; encode: a JSON
round trip, a strict load and a dump). A cycle's open moves an OrderDue and an OrderPlaced per subscription through
the platform, and every consumer of orders.events decodes each OrderPlaced: that was most of the CPU of a burst
(bench/README.md, "Measured design choices").

Both paths here walk the very marshmallow field objects of each registered schema (compiled once per event type
and version: each field's type, required, allow_none, load_default and its validator objects) over the values as
given, and give up (``_Defer``) on anything that is not already in its canonical JSON/Python type, on any value a
validator refuses, on a missing required field and on an unknown field where the schema raises. Giving up means
the caller runs the marshmallow path, which either gives the same result or raises the error message it always
raised. A schema using anything this module does not know (hooks, data keys, other field types) is never compiled:
its events always take the marshmallow path. Unit tests compare both paths on every registered type, on the golden
samples and on hundreds of valid and invalid variants (shared/events/tests/unit/test_fastcodec.py).

The codec's one seam: ``shared_events.envelope`` (``encode``/``to_wire``, ``decode``/``from_wire``) asks
``payload_to_wire`` and ``from_wire`` at the end of this module and runs marshmallow, the plain reading of the
contracts, whenever they answer None. Measured against marshmallow alone by ``bench/codec.py``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from functools import cache
from typing import Any

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, missing, validate
from marshmallow.validate import Validator

from shared_events.registry import REGISTRY, DecodeError


class _Defer(Exception):
    """Not the canonical case (or not valid): let marshmallow decide, and word the error."""


class _Unsupported(Exception):
    """A schema this module does not compile."""


_DEFER = _Defer()  # raised often on invalid input only; one instance is enough (no traceback kept)


def _simple(field: fields.Field) -> None:
    if field.data_key is not None or field.attribute is not None or field.load_only or field.dump_only:
        raise _Unsupported(f"{field!r} renames or hides its value")
    if getattr(field, "pre_load", None) or getattr(field, "post_load", None):
        raise _Unsupported(f"{field!r} has field hooks")


def _check(validator: Any) -> Callable[[Any], bool]:
    """validator -> a predicate true when it accepts the value. marshmallow's Length, Range, OneOf and Regexp
    are inlined (the very conditions of their __call__: calling them cost as much as the rest of a field)."""
    kind = type(validator)
    if kind is validate.Length:
        low, high, equal = validator.min, validator.max, validator.equal
        if equal is not None:
            return lambda value: len(value) == equal
        return lambda value: (low is None or len(value) >= low) and (high is None or len(value) <= high)
    if kind is validate.Range:
        low, high = validator.min, validator.max
        low_in, high_in = validator.min_inclusive, validator.max_inclusive

        def in_range(value: Any) -> bool:
            if low is not None and (value < low if low_in else value <= low):
                return False
            return not (high is not None and (value > high if high_in else value >= high))

        return in_range
    if kind is validate.OneOf:
        choices = validator.choices

        def one_of(value: Any) -> bool:
            try:
                return value in choices
            except TypeError:
                return False

        return one_of
    if kind is validate.Regexp:
        regex = validator.regex
        return lambda value: regex.match(value) is not None

    def call(value: Any) -> bool:
        try:
            ok = validator(value)
        except ValidationError:
            return False
        return not (ok is False and not isinstance(validator, Validator))

    return call


def _checked(checks: tuple[Callable[[Any], bool], ...], value: Any) -> Any:
    for check in checks:
        if not check(value):
            raise _DEFER
    return value


_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date_format(field: fields.Date) -> None:
    if field.format not in (None, "iso", "iso8601"):
        raise _Unsupported("Date other than iso")


def _iso_day(value: Any) -> str:
    """``value`` if it is a valid day as YYYY-MM-DD (what marshmallow's iso Date reads and writes), else _Defer."""
    if type(value) is not str or not _ISO_DAY.fullmatch(value):
        raise _DEFER
    try:
        date.fromisoformat(value)
    except ValueError:
        raise _DEFER from None
    return value


# -- loading (tolerant decode: what marshmallow's Schema.load returns) ------------------------------------------

def _load_field(field: fields.Field) -> Callable[[Any], Any]:
    """value (present in the input) -> what ``field.deserialize(value)`` returns, or _Defer."""
    _simple(field)
    convert: Callable[[Any], Any]
    if isinstance(field, fields.Nested):
        if getattr(field, "many", False) or field.schema.many:
            raise _Unsupported("Nested(many=True)")
        convert = _load_schema(field.schema, field.unknown or field.schema.unknown)
    elif type(field) is fields.List:
        inner = _load_field(field.inner)

        def convert(value: Any) -> Any:
            if type(value) is not list:
                raise _DEFER
            return [inner(item) for item in value]
    elif type(field) is fields.AwareDateTime:
        if field.format not in ("iso", "iso8601") or field.default_timezone is not None:
            raise _Unsupported("AwareDateTime other than iso without default timezone")

        def convert(value: Any) -> Any:
            if type(value) is not str:
                raise _DEFER
            try:
                ret = datetime.fromisoformat(value)  # what marshmallow's "iso" format calls
            except ValueError:
                raise _DEFER from None
            if ret.tzinfo is None or ret.tzinfo.utcoffset(ret) is None:
                raise _DEFER
            return ret
    elif type(field) is fields.Date:
        _iso_date_format(field)

        def convert(value: Any) -> Any:
            return date.fromisoformat(_iso_day(value))
    elif type(field) in (fields.String, fields.Email):  # Email = String + a validator in field.validators

        def convert(value: Any) -> Any:
            if type(value) is not str:
                raise _DEFER
            return value
    elif type(field) is fields.Integer:

        def convert(value: Any) -> Any:
            if type(value) is not int:
                raise _DEFER
            return value
    elif type(field) is fields.Float:
        allow_nan = field.allow_nan

        def convert(value: Any) -> Any:
            kind = type(value)
            if kind is float:
                if not allow_nan and (value != value or value in (float("inf"), float("-inf"))):
                    raise _DEFER
                return value
            if kind is int:
                return float(value)
            raise _DEFER
    elif type(field) is fields.Boolean:

        def convert(value: Any) -> Any:
            if type(value) is not bool:
                raise _DEFER
            return value
    else:
        raise _Unsupported(type(field).__name__)
    validators = tuple(_check(v) for v in field.validators)
    allow_none = field.allow_none

    def load(value: Any) -> Any:
        if value is None:
            if allow_none:
                return None
            raise _DEFER
        out = convert(value)
        return _checked(validators, out) if validators else out

    return load


def _load_schema(schema: Schema, unknown: str | None) -> Callable[[Any], Any]:
    if any(schema._hooks.values()):
        raise _Unsupported("schema hooks")
    if unknown not in (RAISE, EXCLUDE):
        raise _Unsupported(f"unknown={unknown}")
    compiled = []
    for name, field in schema.load_fields.items():
        compiled.append((name, _load_field(field), field.required, field.load_default))
    known = frozenset(name for name, *_ in compiled)
    strict = unknown == RAISE

    def load(value: Any) -> Any:
        if type(value) is not dict:
            raise _DEFER
        if strict and not value.keys() <= known:
            raise _DEFER
        out = {}
        for name, load_field, required, default in compiled:
            if name in value:
                out[name] = load_field(value[name])
            elif required:
                raise _DEFER
            elif default is not missing:
                out[name] = default() if callable(default) else default
        return out

    return load


@cache
def payload_loader(event_type: str, version: int) -> Callable[[Any], Any] | None:
    """The compiled tolerant loader of a registered (type, version), or None (marshmallow only)."""
    try:
        return _load_schema(REGISTRY.spec(event_type, version).schema(unknown=EXCLUDE), EXCLUDE)
    except (_Unsupported, DecodeError):
        return None


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")


def _text(value: Any, low: int, high: int) -> str:
    if type(value) is not str or not low <= len(value) <= high:
        raise _DEFER
    return value


def _positive(value: Any) -> int:
    if type(value) is not int or value < 1:
        raise _DEFER
    return value


def _optional_text(value: Any) -> str | None:
    if value is not None and type(value) is not str:
        raise _DEFER
    return value


def envelope_head(doc: Any) -> dict[str, Any]:
    """The envelope's fields as the tolerant envelope schema loads them (event_id as its canonical string), or
    _Defer. Unknown top-level keys are dropped, as there."""
    if type(doc) is not dict:
        raise _DEFER
    try:
        event_id = doc["event_id"]
        if type(event_id) is not str or not _UUID.match(event_id):
            raise _DEFER
        occurred = doc["occurred_at"]
        if type(occurred) is not str:
            raise _DEFER
        try:
            occurred_at = datetime.fromisoformat(occurred)
        except ValueError:
            raise _DEFER from None
        if occurred_at.tzinfo is None or occurred_at.tzinfo.utcoffset(occurred_at) is None:
            raise _DEFER
        payload = doc["payload"]
        if type(payload) is not dict:
            raise _DEFER
        return {
            "event_id": event_id,
            "event_type": _text(doc["event_type"], 1, 200),
            "schema_version": _positive(doc["schema_version"]),
            "aggregate_id": _text(doc["aggregate_id"], 1, 200),
            "aggregate_version": _positive(doc["aggregate_version"]),
            "occurred_at": occurred_at,
            "shop_id": _optional_text(doc["shop_id"]),
            "correlation_id": _text(doc["correlation_id"], 1, 200),
            "causation_id": _optional_text(doc["causation_id"]),
            "producer": _text(doc["producer"], 1, 100),
            "payload": payload,
        }
    except KeyError:
        raise _DEFER from None


# -- dumping (strict encode: what marshmallow's load of the JSON round trip, then dump, give) --------------------

def _dump_field(field: fields.Field) -> Callable[[Any], Any]:
    """A payload value as given -> its JSON value after a strict load and a dump, or _Defer."""
    _simple(field)
    convert: Callable[[Any], Any]
    if isinstance(field, fields.Nested):
        if getattr(field, "many", False) or field.schema.many:
            raise _Unsupported("Nested(many=True)")
        if (field.unknown or field.schema.unknown) != RAISE:
            raise _Unsupported("nested schema not strict")
        convert = _dump_schema(field.schema)
    elif type(field) is fields.List:
        inner = _dump_field(field.inner)

        def convert(value: Any) -> Any:
            if type(value) is not list:
                raise _DEFER
            return [inner(item) for item in value]
    elif type(field) is fields.AwareDateTime:
        if field.format not in ("iso", "iso8601") or field.default_timezone is not None:
            raise _Unsupported("AwareDateTime other than iso without default timezone")

        def convert(value: Any) -> Any:
            if not isinstance(value, datetime):
                raise _DEFER
            if value.tzinfo is None or value.utcoffset() is None:
                raise _DEFER
            return value
    elif type(field) is fields.Date:  # given as its ISO text (a payload holds no date object): dumped the same
        _iso_date_format(field)

        def convert(value: Any) -> Any:
            return _iso_day(value)
    elif type(field) in (fields.String, fields.Email):

        def convert(value: Any) -> Any:
            if type(value) is not str:
                raise _DEFER
            return value
    elif type(field) is fields.Integer and field.strict and not field.as_string:

        def convert(value: Any) -> Any:
            if type(value) is not int:
                raise _DEFER
            return value
    elif type(field) is fields.Float and not field.as_string:
        allow_nan = field.allow_nan

        def convert(value: Any) -> Any:
            if type(value) is not float or (not allow_nan and (value != value or value in (float("inf"),
                                                                                               float("-inf")))):
                raise _DEFER
            return value
    elif type(field) is fields.Boolean:

        def convert(value: Any) -> Any:
            if type(value) is not bool:
                raise _DEFER
            return value
    else:
        raise _Unsupported(type(field).__name__)
    is_datetime = type(field) is fields.AwareDateTime
    validators = tuple(_check(v) for v in field.validators)
    allow_none = field.allow_none

    def dump(value: Any) -> Any:
        if value is None:
            if not allow_none:
                raise _DEFER
            return None
        out = convert(value)
        if validators:
            _checked(validators, out)
        return out.isoformat() if is_datetime else out

    return dump


def _dump_schema(schema: Schema) -> Callable[[Any], Any]:
    if any(schema._hooks.values()):
        raise _Unsupported("schema hooks")
    compiled = [(name, f, _dump_field(f)) for name, f in schema.dump_fields.items()]
    known = frozenset(name for name, _, _ in compiled)
    if set(schema.load_fields) != known:
        raise _Unsupported("load and dump fields differ")
    steps = [(name, dump, f.required, f.load_default) for name, f, dump in compiled]

    def dump(value: Any) -> Any:
        if type(value) is not dict or not value.keys() <= known:
            raise _DEFER
        out = {}
        for name, dump_field, required, default in steps:
            if name in value:
                out[name] = dump_field(value[name])
            elif required:
                raise _DEFER
            elif default is not missing:
                given = default() if callable(default) else default
                out[name] = dump_field(given) if given is not None else None
        return out

    return dump


@cache
def payload_dumper(event_type: str, version: int) -> Callable[[Any], Any] | None:
    """The compiled strict dumper of a registered (type, version), or None (marshmallow only)."""
    try:
        return _dump_schema(REGISTRY.spec(event_type, version).schema(unknown=RAISE))
    except (_Unsupported, DecodeError):
        return None


Defer = _Defer


# -- the seam: encode and decode (shared_events.envelope) ask these two, and run marshmallow when they answer None --

def payload_to_wire(event_type: str, version: int, payload: Any) -> dict[str, Any] | None:
    """The payload as the strict marshmallow path writes it (the same dict), or None: marshmallow must decide."""
    dumper = payload_dumper(event_type, version)
    if dumper is None:
        return None
    try:
        return dumper(payload)  # type: ignore[no-any-return]
    except _Defer:
        return None


def from_wire(doc: Any, latest_version: Callable[[str], int]) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(envelope head, loaded payload) as the tolerant marshmallow path loads them, or None: marshmallow must
    decide (anything not canonical or not valid, and an older schema version, which is upcast there)."""
    try:
        head = envelope_head(doc)
        event_type, version = head["event_type"], head["schema_version"]
        if version != latest_version(event_type):
            return None
        loader = payload_loader(event_type, version)
        if loader is None:
            return None
        return head, loader(head["payload"])
    except (_Defer, DecodeError):
        return None
