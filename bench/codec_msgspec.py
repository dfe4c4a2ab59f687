"""msgspec Structs mirroring OrderDue and OrderPlaced (envelope, nested lines, totals, addresses, their validation
rules) for bench/codec.py: what replacing fastcodec by msgspec would cost at best. Importing it needs msgspec,
which is not a dependency of the project."""

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from shared_events.contracts.scheduler import DUE_REASONS

Id = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
Text = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Utc = Annotated[datetime, msgspec.Meta(tz=True)]
Quantity = Annotated[int, msgspec.Meta(ge=0, le=1_000_000)]
Amount = Annotated[int, msgspec.Meta(ge=0)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]


class OrderDue(msgspec.Struct, forbid_unknown_fields=True):
    subscription_id: Id
    order_cycle_id: Id
    shop_id: Id
    customer_id: Id
    schedule_id: Id
    opens_at: Utc
    closes_at: Utc
    due_at: Utc
    reason: Literal[tuple(DUE_REASONS)]  # type: ignore[valid-type]
    lateness_seconds: Annotated[float, msgspec.Meta(ge=0)]
    late: bool


class Actor(msgspec.Struct):
    type: Literal["admin", "manager", "customer", "system"]
    id: Id


class Line(msgspec.Struct):
    line_id: Id
    variant_id: Id
    name: Annotated[str, msgspec.Meta(max_length=400)]
    unit_price: Amount
    requested_quantity: Quantity
    quantity: Quantity
    total: Amount


class Totals(msgspec.Struct):
    item_total: int
    shipping_fee: int
    payment_fee: int
    total: int


class Address(msgspec.Struct):
    first_name: Name
    last_name: Name
    address1: Text
    city: Name
    zipcode: Annotated[str, msgspec.Meta(min_length=1, max_length=20)]
    country: Annotated[str, msgspec.Meta(pattern="^[A-Z]{2}$")]
    address2: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    state: Annotated[str, msgspec.Meta(max_length=100)] | None = None
    phone: Annotated[str, msgspec.Meta(max_length=40)] | None = None


class StockDelta(msgspec.Struct):
    variant_id: Id
    delta: int


class OrderPlaced(msgspec.Struct, forbid_unknown_fields=True):
    order_id: Id
    shop_id: Id
    subscription_id: Id
    order_cycle_id: Id
    customer_id: Id
    number: Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
    status: Literal["placed", "empty"]
    currency: Annotated[str, msgspec.Meta(pattern="^[A-Z]{3}$")]
    lines: list[Line]
    totals: Totals
    shipping_method_id: Id
    payment_method_id: Id
    payment_kind: Literal["cash", "stripe"]
    bill_address: Address
    ship_address: Address
    opens_at: Utc
    closes_at: Utc
    late: bool
    allocation_policy: str
    stock_delta: list[StockDelta]
    actor: Actor | None = None
    reason: Annotated[str, msgspec.Meta(max_length=500)] | None = None


def _wire(payload: type) -> type:
    return msgspec.defstruct(f"{payload.__name__}Wire", [
        ("event_id", str), ("event_type", Text), ("schema_version", Annotated[int, msgspec.Meta(ge=1)]),
        ("aggregate_id", Text), ("aggregate_version", Annotated[int, msgspec.Meta(ge=1)]), ("occurred_at", Utc),
        ("shop_id", str | None), ("correlation_id", Text), ("causation_id", str | None),
        ("producer", Annotated[str, msgspec.Meta(min_length=1, max_length=100)]), ("payload", payload)])


WIRES = {"OrderDue": _wire(OrderDue), "OrderPlaced": _wire(OrderPlaced)}
