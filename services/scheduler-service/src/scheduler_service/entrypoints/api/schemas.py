"""Request and response schemas of the scheduler API (strict on input: unknown fields -> 422)."""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema


class ClockSchema(Schema):
    mode = fields.String(required=True, metadata={"description": "test (frozen, shared) or system"})
    now = fields.AwareDateTime(format="iso", required=True)
    version = fields.Integer(allow_none=True, metadata={"description": "bumped at every move (test mode)"})
    moved_at = fields.AwareDateTime(format="iso", allow_none=True,
                                    metadata={"description": "wall clock of the last move"})


class SetClockSchema(Schema):
    class Meta:
        unknown = RAISE

    at = fields.AwareDateTime(format="iso", required=True,
                              metadata={"description": "freeze the shared clock here (forward only once set); "
                                                       "nothing is emitted by the jump: tickers catch up"})


class AdvanceSchema(Schema):
    class Meta:
        unknown = RAISE

    to = fields.AwareDateTime(format="iso", metadata={"description": "the instant to advance to"})
    seconds = fields.Float(validate=validate.Range(min=0, max=366 * 86400),
                           metadata={"description": "or how far to advance"})

    @validates_schema
    def _one_of(self, data: dict[str, Any], **_kw: Any) -> None:
        if ("to" in data) == ("seconds" in data):
            raise ValidationError("Give exactly one of 'to' and 'seconds'.", "_schema")


class EmittedSchema(Schema):
    order_cycle_id = fields.String(required=True)
    shop_id = fields.String(required=True)
    kind = fields.String(required=True, metadata={
        "description": "open, close or reminder (the cut-off reminder: OrderCycleClosingSoon)"})
    boundary_at = fields.AwareDateTime(format="iso", required=True)
    due_count = fields.Integer(allow_none=True)
    emitted_at = fields.AwareDateTime(format="iso", required=True)
    lateness_seconds = fields.Float(required=True)
    lag_seconds = fields.Float(allow_none=True)
    worker = fields.String(allow_none=True, metadata={"description": "the ticker replica or API that emitted it"})


class AdvanceResultSchema(Schema):
    started_at = fields.AwareDateTime(format="iso", required=True)
    now = fields.AwareDateTime(format="iso", required=True)
    boundaries = fields.List(fields.Nested(EmittedSchema), required=True,
                             metadata={"description": "emitted during this advance, in order"})


class BoundaryQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String(load_default=None)


class AdminBoundaryQuerySchema(BoundaryQuerySchema):
    shop_id = fields.String(load_default=None)


class BoundarySchema(Schema):
    order_cycle_id = fields.String(required=True)
    shop_id = fields.String(required=True)
    kind = fields.String(required=True)
    opens_at = fields.AwareDateTime(format="iso")
    closes_at = fields.AwareDateTime(format="iso")
    boundary_at = fields.AwareDateTime(format="iso", required=True)
    boundary_at_local = fields.AwareDateTime(format="iso", metadata={"description": "in the shop's time zone"})
    timezone = fields.String()
    emitted_at = fields.AwareDateTime(format="iso", metadata={"description": "platform time of the event"})
    lateness_seconds = fields.Float()
    due_count = fields.Integer(allow_none=True)
    not_due = fields.Integer(allow_none=True)
    late_skipped = fields.Integer(allow_none=True, metadata={
        "description": "due but not placed: the open was processed after the cycle closed and the shop's "
                       "late_placement is while_open; each has its OrderDueMissed event and is listed in "
                       "order-service's placement summary"})
    lag_seconds = fields.Float(allow_none=True, metadata={"description": "wall seconds from boundary to commit"})
    worker = fields.String(allow_none=True)
    event_id = fields.String()


class BoundaryPageSchema(Schema):
    items = fields.List(fields.Nested(BoundarySchema), required=True)
    next_cursor = fields.String(allow_none=True)


class PendingQuerySchema(Schema):
    class Meta:
        unknown = RAISE

    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class PendingSchema(Schema):
    order_cycle_id = fields.String(required=True)
    shop_id = fields.String(required=True)
    kind = fields.String(required=True)
    fire_at = fields.AwareDateTime(format="iso", required=True)
    fire_at_local = fields.AwareDateTime(format="iso")
    overdue_seconds = fields.Float(metadata={"description": "> 0: its time has come and it is not emitted yet"})


class PendingListSchema(Schema):
    items = fields.List(fields.Nested(PendingSchema), required=True)
