"""Routes: the test clock (platform admin) and the boundaries (admin; a manager for their shops)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import current_app

from scheduler_service.adapters import repository
from scheduler_service.adapters.clock import PlatformClock
from scheduler_service.domain.rules import lateness_seconds
from scheduler_service.domain.timezones import to_local
from scheduler_service.entrypoints.api import schemas
from scheduler_service.service_layer import test_clock
from servicekit.web.app import internal, principal, request_conn, settings
from servicekit.web.blueprint import Blueprint
from servicekit.web.http import decode_cursor, page
from servicekit.web.problems import Conflict, Forbidden, NotFound, Problem

clock_blp = Blueprint("test_clock", __name__, url_prefix="/api/v1/test-clock",
                      description="The shared test clock (TEST_CLOCK_URL only): freeze and advance platform time.")
boundaries_blp = Blueprint("boundaries", __name__, url_prefix="/api/v1",
                           description="Order-cycle boundaries the scheduler emitted or will emit.")


def _clock() -> PlatformClock:
    return current_app.extensions["scheduler_clock"]


def _require_admin() -> None:
    if not principal().is_admin:
        raise Forbidden("Only a platform admin may do this.")


def _clock_view(state: test_clock.ClockState | None) -> dict[str, Any]:
    if state is None:
        return {"mode": "system", "now": _clock().now(), "version": None, "moved_at": None}
    return {"mode": "test", "now": state.now, "version": state.version, "moved_at": state.moved_at}


@clock_blp.route("", methods=["GET"])
@clock_blp.response(200, schemas.ClockSchema)
@internal
def get_clock() -> dict[str, Any]:
    """What time the platform reads ("system" outside test clock mode)."""
    _require_admin()
    store = _clock().store
    if store is None:
        return _clock_view(None)
    state = store.state()
    if state is None:
        raise Conflict("The test clock is not initialised: POST {\"at\": ...} first.")
    return _clock_view(state)


@clock_blp.route("", methods=["POST"])
@clock_blp.arguments(schemas.SetClockSchema)
@clock_blp.response(200, schemas.ClockSchema)
@internal
def set_clock(args: dict[str, Any]) -> dict[str, Any]:
    """Initialise or freeze the test clock. A jump emits nothing by itself (like downtime: tickers catch up)."""
    _require_admin()
    store = _refuse_outside_test_mode()
    current = store.state()
    if current is not None and args["at"] < current.now:
        raise Conflict(f"The test clock only moves forward: it is {current.now.isoformat()}.")
    return _clock_view(test_clock.set_time(_clock(), args["at"]))


@clock_blp.route("/advance", methods=["POST"])
@clock_blp.arguments(schemas.AdvanceSchema)
@clock_blp.response(200, schemas.AdvanceResultSchema)
@internal
def advance_clock(args: dict[str, Any]) -> dict[str, Any]:
    """Advance the test clock, emitting every boundary on the way at its own instant, in order.

    Returns once those events are in the outbox (the relay publishes them within milliseconds).
    """
    _require_admin()
    store = _refuse_outside_test_mode()
    state = store.state()
    if state is None:
        raise Conflict("The test clock is not initialised: POST /api/v1/test-clock {\"at\": ...} first.")
    to = args["to"] if "to" in args else state.now + timedelta(seconds=args["seconds"])
    try:
        result = test_clock.advance(_clock(), settings().database_url, to,
                                    worker=current_app.extensions["scheduler_worker"])
    except test_clock.ClockError as exc:
        raise Conflict(str(exc)) from exc
    except test_clock.BoundaryFailed as exc:
        raise Problem(str(exc), status=500, title="A boundary on the way could not be emitted",
                      slug="boundary-failed") from exc
    return {"started_at": result.started_at, "now": result.state.now, "boundaries": result.boundaries}


def _refuse_outside_test_mode() -> test_clock.TestClockStore:
    try:
        return test_clock.store_of(_clock())
    except test_clock.ClockError as exc:
        raise Conflict(str(exc)) from exc


# -- boundaries ----------------------------------------------------------------------------------------------------

def _boundary_view(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "event_id": str(row["event_id"]), "boundary_at_local": to_local(row["boundary_at"], row["timezone"])}


def _boundary_page(shop_ids: list[str] | None, args: dict[str, Any]) -> dict[str, Any]:
    cursor = decode_cursor(args["cursor"], ("time", "text", "text"))
    before = (cursor[0], cursor[1], cursor[2]) if cursor is not None else None
    rows = repository.emitted_boundaries(request_conn(), shop_ids=shop_ids, limit=args["limit"] + 1, before=before)
    return page([_boundary_view(r) for r in rows], args["limit"],
                lambda r: [r["boundary_at"], r["order_cycle_id"], r["kind"]])


@boundaries_blp.route("/boundaries", methods=["GET"])
@boundaries_blp.arguments(schemas.AdminBoundaryQuerySchema, location="query")
@boundaries_blp.response(200, schemas.BoundaryPageSchema)
@internal
def list_boundaries(args: dict[str, Any]) -> dict[str, Any]:
    """Emitted boundaries of every shop, most recent first: cycle, kind, due count, lateness, lag (admin)."""
    _require_admin()
    return _boundary_page([args["shop_id"]] if args["shop_id"] else None, args)


@boundaries_blp.route("/boundaries/pending", methods=["GET"])
@boundaries_blp.arguments(schemas.PendingQuerySchema, location="query")
@boundaries_blp.response(200, schemas.PendingListSchema)
@internal
def list_pending(args: dict[str, Any]) -> dict[str, Any]:
    """The next boundaries to emit, earliest first; overdue ones mean no ticker is keeping up (admin)."""
    _require_admin()
    conn = request_conn()
    pending = repository.pending_boundaries(conn, limit=args["limit"])
    zones = repository.timezones(conn, {b.shop_id for b in pending})
    now = _clock().now()
    return {"items": [{"order_cycle_id": b.order_cycle_id, "shop_id": b.shop_id, "kind": b.kind,
                       "fire_at": b.fire_at, "fire_at_local": to_local(b.fire_at, zones.get(b.shop_id)),
                       "overdue_seconds": lateness_seconds(now, b.fire_at)} for b in pending]}


@boundaries_blp.route("/shops/<shop_id>/boundaries", methods=["GET"])
@boundaries_blp.arguments(schemas.BoundaryQuerySchema, location="query")
@boundaries_blp.response(200, schemas.BoundaryPageSchema)
@boundaries_blp.alt_response(404, response="NOT_FOUND")
def list_shop_boundaries(args: dict[str, Any], shop_id: str) -> dict[str, Any]:
    """Emitted boundaries of one shop, most recent first (its managers and the admin)."""
    if not principal().manages(shop_id):
        raise NotFound("No such shop.")
    found = _boundary_page([shop_id], args)
    if not found["items"] and not repository.shop_exists(request_conn(), shop_id):
        raise NotFound("No such shop.")
    return found
