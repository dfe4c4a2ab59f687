"""schedules.events: order cycles and the schedules that group them (producer: subscription-service).

An order cycle (OC) is a window [opens_at, closes_at) of a shop, stored in UTC
and shown in the shop's time zone. A schedule is a named set of OCs; one OC
may belong to several schedules.
"""

from marshmallow import fields, validate

from shared_events.contracts.common import CommandEvent, Id, Utc
from shared_events.registry import event

TOPIC = "schedules.events"


@event("OrderCycleCreated", 1, topic=TOPIC, aggregate="OrderCycle")
class OrderCycleCreatedV1(CommandEvent):
    """An order cycle was created (by hand or by the schedule generator)."""

    order_cycle_id = Id(required=True)
    shop_id = Id(required=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    opens_at = Utc(required=True)
    closes_at = Utc(required=True)


@event("OrderCycleMoved", 1, topic=TOPIC, aggregate="OrderCycle")
class OrderCycleMovedV1(CommandEvent):
    """An order cycle's open and/or close time changed (and possibly its name)."""

    order_cycle_id = Id(required=True)
    shop_id = Id(required=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    opens_at = Utc(required=True)
    closes_at = Utc(required=True)
    previous_opens_at = Utc(required=True)
    previous_closes_at = Utc(required=True)


@event("OrderCycleDeleted", 1, topic=TOPIC, aggregate="OrderCycle")
class OrderCycleDeletedV1(CommandEvent):
    """An order cycle that belonged to no schedule was deleted."""

    order_cycle_id = Id(required=True)
    shop_id = Id(required=True)


@event("ScheduleCreated", 1, topic=TOPIC, aggregate="Schedule")
class ScheduleCreatedV1(CommandEvent):
    """A schedule was created with its initial order cycles."""

    schedule_id = Id(required=True)
    shop_id = Id(required=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    order_cycle_ids = fields.List(Id(), required=True)


@event("ScheduleRenamed", 1, topic=TOPIC, aggregate="Schedule")
class ScheduleRenamedV1(CommandEvent):
    """A schedule's name changed."""

    schedule_id = Id(required=True)
    shop_id = Id(required=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))


@event("ScheduleOrderCyclesChanged", 1, topic=TOPIC, aggregate="Schedule")
class ScheduleOrderCyclesChangedV1(CommandEvent):
    """Order cycles were added to and/or removed from a schedule; ``order_cycle_ids`` is the full set after."""

    schedule_id = Id(required=True)
    shop_id = Id(required=True)
    added = fields.List(Id(), required=True)
    removed = fields.List(Id(), required=True)
    order_cycle_ids = fields.List(Id(), required=True)


@event("ScheduleDeleted", 1, topic=TOPIC, aggregate="Schedule")
class ScheduleDeletedV1(CommandEvent):
    """A schedule that no subscription ever referenced was deleted."""

    schedule_id = Id(required=True)
    shop_id = Id(required=True)
