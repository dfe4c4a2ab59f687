"""/api/v1/shops/{shop_id}/order-cycles and /schedules: windows in UTC inside, the shop's time zone at the edges."""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from servicekit.web.app import request_conn
from servicekit.web.blueprint import Blueprint
from servicekit.web.http import idempotent
from subscription_service.domain.generator import MAX_CYCLES, WEEKDAYS
from subscription_service.entrypoints.api.common import (
    CREATE,
    READ_PROBLEMS,
    WRITE,
    WRITE_PROBLEMS,
    Id,
    LocalOrInstant,
    StrictSchema,
    Text,
    When,
    caller,
    no_content,
    page,
    page_args,
    page_out,
    page_request,
    problems,
    with_version,
)
from subscription_service.service_layer import schedules as handlers

blp = Blueprint("schedules", __name__, url_prefix="/api/v1",
                description="Order cycles (opens_at/closes_at: any offset, or the shop's local time without one, in; "
                            "UTC and shop-local out) and schedules. A local time that a clock change skips is moved "
                            "forward by the gap, one that it repeats is the first of the two; the answer's warnings "
                            "say so.")
V = ma.validate


LOCAL_TIME_DOC = (
    "An instant with an offset (2027-03-28T02:30:00+01:00), or the shop's local wall-clock time without one "
    "(2027-03-28T02:30:00). A local time that a clock change skips (Europe/Paris, 28 March 2027, 02:00-03:00) is "
    "moved forward by the gap (02:30 -> 03:30+02:00); one that it repeats (31 October 2027, 02:00-03:00) is the "
    "first, earlier one (02:30+02:00). Either way the answer's warnings say so. Between the years 2000 and 2200.")


class CycleIn(StrictSchema):
    name = Text(validate=V.Length(min=1, max=200))
    opens_at = LocalOrInstant(metadata={"description": LOCAL_TIME_DOC})
    closes_at = LocalOrInstant(metadata={"description": LOCAL_TIME_DOC})


class CycleCreateIn(CycleIn):
    name = Text(required=True, validate=V.Length(min=1, max=200))
    opens_at = LocalOrInstant(required=True, metadata={"description": LOCAL_TIME_DOC})
    closes_at = LocalOrInstant(required=True, metadata={"description": LOCAL_TIME_DOC})
    schedule_id = ma.fields.UUID(load_default=None, metadata={
        "description": "also add it to this schedule, in the same step (If-Match: the schedule's version)"})


class TimeWarningOut(ma.Schema):
    """A local time that was moved (it does not exist: a clock change skips it) or was ambiguous (it happens twice:
    the first was taken)."""

    index = ma.fields.Integer(metadata={"description": "generator: which cycle of the answer (0 = first)"})
    order_cycle_id = ma.fields.String(metadata={"description": "generator: the cycle it is about"})
    order_cycle_name = ma.fields.String(metadata={"description": "generator: that cycle's name"})
    field = ma.fields.String(required=True, metadata={"description": "opens_at | closes_at"})
    kind = ma.fields.String(required=True, metadata={"description": "moved_forward | ambiguous_first"})
    local_time = ma.fields.String(required=True, metadata={"description": "the local time asked for"})
    timezone = ma.fields.String(required=True)
    resolved_local = ma.fields.String(required=True, metadata={"description": "what it was taken as, with offset"})
    message = ma.fields.String(required=True)


class CycleOut(ma.Schema):
    id = ma.fields.String(required=True)
    shop_id = ma.fields.String()
    name = ma.fields.String()
    opens_at = ma.fields.DateTime(metadata={"description": "UTC"})
    closes_at = ma.fields.DateTime(metadata={"description": "UTC"})
    opens_at_local = ma.fields.String(metadata={"description": "in the shop's time zone"})
    closes_at_local = ma.fields.String()
    timezone = ma.fields.String()
    status = ma.fields.String(metadata={"description": "upcoming | open | closed"})
    schedule_ids = ma.fields.List(ma.fields.String())
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()
    version = ma.fields.Integer()
    warnings = ma.fields.List(ma.fields.Nested(TimeWarningOut), metadata={
        "description": "on the answer to a create or a change: local times moved or ambiguous (empty: none)"})


class CycleListArgs(page_args(["opens_at", "closes_at", "created_at"], "opens_at")):  # type: ignore[misc]
    schedule_id = ma.fields.UUID(load_default=None)
    status = ma.fields.List(ma.fields.String(validate=V.OneOf(["upcoming", "open", "closed"])), load_default=None,
                            metadata={"description": "repeat for several: cycles in any of them"})
    closes_after = When(load_default=None)
    opens_before = When(load_default=None)


class WeeklyRuleIn(StrictSchema):
    """"Every Tuesday 09:00 to Friday 17:00, Europe/Paris, 12 weeks": right across daylight-saving changes.

    A local time that a clock change skips is moved forward by the gap (02:30 -> 03:30), one that it repeats is
    the first of the two; the answer's warnings name each such cycle. At most 260 cycles per request, all between
    the years 2000 and 2200 (as a cycle made alone)."""

    opens_weekday = ma.fields.String(required=True, validate=V.OneOf(WEEKDAYS))
    opens_time = ma.fields.Time(required=True, metadata={"description": "local wall-clock time, e.g. 09:00"})
    closes_weekday = ma.fields.String(required=True, validate=V.OneOf(WEEKDAYS))
    closes_time = ma.fields.Time(required=True)
    timezone = Text(load_default=None, validate=V.Length(min=1, max=64),
                    metadata={"description": "IANA, canonical name (as a shop's); default: the shop's"})
    start_date = ma.fields.Date(required=True, metadata={"description": "first opening on or after this date"})
    count = ma.fields.Integer(strict=True, required=True, validate=V.Range(min=1, max=MAX_CYCLES),
                              metadata={"description": f"how many cycles: at most {MAX_CYCLES} per request, the "
                                                       "last closing by the year 2200"})
    interval_weeks = ma.fields.Integer(strict=True, load_default=1, validate=V.Range(min=1, max=52))
    name_prefix = Text(load_default=None, validate=V.Length(min=1, max=180))


class GenerateIn(WeeklyRuleIn):
    schedule_id = ma.fields.UUID(load_default=None, metadata={
        "description": "also add them to this schedule (If-Match: the schedule's version)"})


class GenerateOut(ma.Schema):
    order_cycles = ma.fields.List(ma.fields.Nested(CycleOut))
    schedule_id = ma.fields.String(allow_none=True)
    warnings = ma.fields.List(ma.fields.Nested(TimeWarningOut),
                              metadata={"description": "local times moved or ambiguous, by cycle (empty: none)"})


class ScheduleIn(StrictSchema):
    name = Text(validate=V.Length(min=1, max=200))
    order_cycle_ids = ma.fields.List(Id(), validate=V.Length(max=1000),
                                     metadata={"description": "the full set after the change"})
    add = ma.fields.List(Id(), validate=V.Length(max=1000))
    remove = ma.fields.List(Id(), validate=V.Length(max=1000))


class ScheduleCreateIn(StrictSchema):
    """A name and at least one order cycle: the shop's existing ones, a weekly season generated in the same step
    (``generate``: the generator's rule), or both."""

    name = Text(required=True, validate=V.Length(min=1, max=200))
    order_cycle_ids = ma.fields.List(Id(), load_default=list, validate=V.Length(max=1000),
                                     metadata={"description": "existing order cycles of the shop"})
    generate = ma.fields.Nested(WeeklyRuleIn, load_default=None, metadata={
        "description": "a weekly season to generate into it (as POST .../order-cycles/generate; its refusals are "
                       "named generate.<field>)"})


class ScheduleOut(ma.Schema):
    id = ma.fields.String(required=True)
    shop_id = ma.fields.String()
    name = ma.fields.String()
    order_cycle_ids = ma.fields.List(ma.fields.String())
    order_cycles = ma.fields.List(ma.fields.Nested(CycleOut))
    subscription_count = ma.fields.Integer(metadata={"description": "subscriptions on it, cancelled ones included"})
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()
    version = ma.fields.Integer()
    warnings = ma.fields.List(ma.fields.Nested(TimeWarningOut), metadata={
        "description": "on the answer to a create with ``generate``: local times moved or ambiguous, by cycle"})


class ScheduleListArgs(page_args(["created_at", "name"], "created_at")):  # type: ignore[misc]
    q = Text(load_default=None, validate=V.Length(min=1, max=200))


CYCLES = "/shops/<uuid:shop_id>/order-cycles"
SCHEDULES = "/shops/<uuid:shop_id>/schedules"


@blp.route(CYCLES, methods=["POST"])
@idempotent
@blp.doc(parameters=CREATE)
@blp.arguments(CycleCreateIn)
@blp.response(201, CycleOut)
@problems(blp, *WRITE_PROBLEMS)
def create_cycle(args: dict[str, Any], shop_id):  # type: ignore[no-untyped-def]
    """Add an order cycle (and with ``schedule_id`` add it to that schedule in the same step); ``warnings`` name a
    local time moved out of a clock change's gap or taken first in its fold."""
    if args.get("schedule_id") is not None:
        args["schedule_id"] = str(args["schedule_id"])
    return with_version(handlers.create_cycle(request_conn(), caller(), str(shop_id), args), 201)


@blp.route(f"{CYCLES}/generate", methods=["POST"])
@idempotent
@blp.doc(parameters=CREATE)
@blp.arguments(GenerateIn)
@blp.response(201, GenerateOut)
@problems(blp, *WRITE_PROBLEMS)
def generate_cycles(args: dict[str, Any], shop_id):  # type: ignore[no-untyped-def]
    """Make order cycles from a weekly rule (and optionally add them to a schedule): at most 260, between the years
    2000 and 2200; ``warnings`` name each cycle whose local time a clock change moved or made ambiguous."""
    if args.get("schedule_id") is not None:
        args["schedule_id"] = str(args["schedule_id"])
    return handlers.generate_cycles(request_conn(), caller(), str(shop_id), args), 201


@blp.route(CYCLES, methods=["GET"])
@blp.arguments(CycleListArgs, location="query")
@blp.response(200, page_out(CycleOut))
@problems(blp, *READ_PROBLEMS)
def list_cycles(args: dict[str, Any], shop_id):  # type: ignore[no-untyped-def]
    filters = {k: args.pop(k) for k in ("schedule_id", "status", "closes_after", "opens_before")}
    if filters["schedule_id"] is not None:
        filters["schedule_id"] = str(filters["schedule_id"])
    return page(*handlers.list_cycles(request_conn(), caller(), str(shop_id), page_request(args), **filters))


@blp.route(f"{CYCLES}/<uuid:cycle_id>", methods=["GET"])
@blp.response(200, CycleOut)
@problems(blp, *READ_PROBLEMS)
def get_cycle(shop_id, cycle_id):  # type: ignore[no-untyped-def]
    return with_version(handlers.get_cycle(request_conn(), caller(), str(shop_id), str(cycle_id)))


@blp.route(f"{CYCLES}/<uuid:cycle_id>", methods=["PATCH"])
@blp.doc(parameters=WRITE)
@blp.arguments(CycleIn)
@blp.response(200, CycleOut)
@problems(blp, *WRITE_PROBLEMS)
def move_cycle(args: dict[str, Any], shop_id, cycle_id):  # type: ignore[no-untyped-def]
    """Move (or rename) an order cycle; a closed one cannot move, an open one keeps its opening."""
    return with_version(handlers.move_cycle(request_conn(), caller(), str(shop_id), str(cycle_id), args))


@blp.route(f"{CYCLES}/<uuid:cycle_id>", methods=["DELETE"])
@blp.doc(parameters=WRITE)
@blp.response(204)
@problems(blp, *WRITE_PROBLEMS)
def delete_cycle(shop_id, cycle_id):  # type: ignore[no-untyped-def]
    """Delete an order cycle that belongs to no schedule (409 otherwise)."""
    handlers.delete_cycle(request_conn(), caller(), str(shop_id), str(cycle_id))
    return no_content()


@blp.route(SCHEDULES, methods=["POST"])
@idempotent
@blp.doc(parameters=CREATE)
@blp.arguments(ScheduleCreateIn)
@blp.response(201, ScheduleOut)
@problems(blp, *WRITE_PROBLEMS)
def create_schedule(args: dict[str, Any], shop_id):  # type: ignore[no-untyped-def]
    """Create a schedule with at least one order cycle: existing ones of the shop (``order_cycle_ids``) and/or a
    weekly season generated with it in one step (``generate``)."""
    return with_version(handlers.create_schedule(request_conn(), caller(), str(shop_id), args), 201)


@blp.route(SCHEDULES, methods=["GET"])
@blp.arguments(ScheduleListArgs, location="query")
@blp.response(200, page_out(ScheduleOut))
@problems(blp, *READ_PROBLEMS)
def list_schedules(args: dict[str, Any], shop_id):  # type: ignore[no-untyped-def]
    q = args.pop("q")
    return page(*handlers.list_schedules(request_conn(), caller(), str(shop_id), page_request(args), q))


@blp.route(f"{SCHEDULES}/<uuid:schedule_id>", methods=["GET"])
@blp.response(200, ScheduleOut)
@problems(blp, *READ_PROBLEMS)
def get_schedule(shop_id, schedule_id):  # type: ignore[no-untyped-def]
    return with_version(handlers.get_schedule(request_conn(), caller(), str(shop_id), str(schedule_id)))


@blp.route(f"{SCHEDULES}/<uuid:schedule_id>", methods=["PATCH"])
@blp.doc(parameters=WRITE)
@blp.arguments(ScheduleIn)
@blp.response(200, ScheduleOut)
@problems(blp, *WRITE_PROBLEMS)
def update_schedule(args: dict[str, Any], shop_id, schedule_id):  # type: ignore[no-untyped-def]
    """Rename; add and remove order cycles (placed orders of a removed cycle stay)."""
    return with_version(handlers.update_schedule(request_conn(), caller(), str(shop_id), str(schedule_id), args))


@blp.route(f"{SCHEDULES}/<uuid:schedule_id>", methods=["DELETE"])
@blp.doc(parameters=WRITE)
@blp.response(204)
@problems(blp, *WRITE_PROBLEMS)
def delete_schedule(shop_id, schedule_id):  # type: ignore[no-untyped-def]
    """Delete a schedule no subscription ever referenced (409 otherwise)."""
    handlers.delete_schedule(request_conn(), caller(), str(shop_id), str(schedule_id))
    return no_content()
