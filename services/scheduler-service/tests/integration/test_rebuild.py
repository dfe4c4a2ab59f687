"""The projections rebuilt from the topics equal the live ones (and a damaged one is detected and repaired)."""

import hashlib
import json
import subprocess
import sys

import psycopg
import pytest
from scheduler_harness import START, days, hours, new_id

from devstack.testing import scalar, wait_for
from scheduler_service.adapters.projections import PROJECTION_TABLES
from scheduler_service.entrypoints import rebuild

pytestmark = pytest.mark.integration


def feed_a_bit_of_everything(f):
    shop, other = f.shop(), f.shop(timezone="Australia/Melbourne", late="always")
    f.update_shop(shop, late_placement="always")
    f.update_shop(other, subscriptions_enabled=False)
    f.update_shop(other, subscriptions_enabled=True)
    cycles = [f.cycle(shop, START + hours(1) + days(7 * w), START + days(3 + 7 * w)) for w in range(3)]
    spare = f.cycle(shop, START + days(30), START + days(32))
    f.move_cycle(cycles[2], closes_at=START + days(18))
    f.move_cycle(cycles[2], name="Renamed only")
    f.delete_cycle(spare)
    schedule = f.schedule(shop, cycles[:2])
    f.emit("ScheduleRenamed", schedule, {"schedule_id": schedule, "shop_id": shop, "name": "Veg box",
                                         "actor": None, "reason": None}, shop)
    f.change_schedule(schedule, shop, add=[cycles[2]])
    gone = f.schedule(shop, [cycles[0]])
    f.change_schedule(gone, shop, remove=[cycles[0]])
    f.emit("ScheduleDeleted", gone, {"schedule_id": gone, "shop_id": shop, "actor": None, "reason": None}, shop)
    subs = [f.subscription(shop, schedule, START - days(1), ends_at=START + days(20)) for _ in range(6)]
    f.update_subscription(subs[0], shop, ends_at=None)
    f.update_subscription(subs[1], shop, begins_at=START + days(5))
    f.pause(subs[2], shop)
    f.pause(subs[3], shop)
    f.unpause(subs[3], shop)
    f.cancel(subs[4], shop)
    holiday = f.subscription(shop, schedule, START - days(1))
    f.pause(holiday, shop, until=START + days(5))  # ends (PauseEnded) during the advance below
    subs.append(holiday)
    f.skip(subs[5], shop, cycles[0])
    f.skip(subs[5], shop, cycles[1])
    f.resume(subs[5], shop, cycles[1])
    token = new_id()
    f.emit("TokenIssued", token, {"token_id": token, "token_hash": hashlib.sha256(b"t").hexdigest(),
                                  "role": "manager", "shop_ids": [shop], "customer_id": None, "label": "m",
                                  "expires_at": None, "actor": None, "reason": None}, None)
    f.emit("TokenRevoked", token, {"token_id": token, "actor": None, "reason": "rotated"}, None)
    return shop, subs


def test_the_projections_rebuilt_from_offset_zero_equal_the_live_ones(harness):
    h, f = harness, harness.feed
    feed_a_bit_of_everything(f)
    h.start_all()
    h.wait_applied()
    h.api().advance(to=START + days(9))  # two opens, a close, and their dues
    h.wait_published()
    assert len(h.outbox("OrderCycleOpened")) == 2 and len(h.outbox("OrderCycleClosed")) == 1
    assert len(h.outbox("PauseEnded")) == 1
    h.stop("consumer")
    with psycopg.connect(h.dsn) as conn:
        counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in PROJECTION_TABLES}
    assert all(counts.values()), counts

    done = subprocess.run([sys.executable, "-m", "scheduler_service.entrypoints.rebuild"], env=h.env(),
                          capture_output=True, text=True, timeout=120)

    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert done.returncode == 0, done.stdout + done.stderr
    assert report["identical"] and report["undecodable"] == 0, report
    assert report["events"] == f.sent + len(h.outbox())
    assert set(report["differences"]) == set(PROJECTION_TABLES)


def test_a_damaged_projection_is_detected_and_the_swap_repairs_it(harness):
    h, f = harness, harness.feed
    _shop, subs = feed_a_bit_of_everything(f)
    h.start_all()
    h.wait_applied()
    h.api().advance(to=START + days(2))
    h.wait_published()
    h.stop("consumer")
    h.stop("ticker")
    with psycopg.connect(h.dsn) as conn:
        conn.execute("UPDATE subscriptions SET paused = NOT paused WHERE subscription_id = %s", [subs[0]])
        conn.execute("DELETE FROM cycle_boundaries")
        conn.execute("DELETE FROM skipped_occurrences")

    damaged = rebuild.run(h.dsn, bootstrap=h.infra.bootstrap)
    assert damaged.differences["subscriptions"] == 2 and damaged.differences["cycle_boundaries"] == 1
    assert damaged.differences["skipped_occurrences"] == 1 and not damaged.identical

    assert rebuild.run(h.dsn, bootstrap=h.infra.bootstrap, swap=True).swapped
    assert rebuild.run(h.dsn, bootstrap=h.infra.bootstrap).identical


def test_a_lost_boundary_row_is_restored_from_the_outbox_by_the_ticker_without_emitting_again(harness):
    h, f = harness, harness.feed
    feed_a_bit_of_everything(f)
    h.start_all()
    h.wait_applied()
    h.api().advance(to=START + days(4))
    before = [e.event_id for e in h.outbox()]
    with psycopg.connect(h.dsn) as conn:
        rows_before = conn.execute("SELECT * FROM cycle_boundaries ORDER BY order_cycle_id, kind").fetchall()
        conn.execute("DELETE FROM cycle_boundaries")

    wait_for(lambda: scalar(h.dsn, "SELECT count(*) FROM cycle_boundaries") == len(rows_before), 30,
             "the ticker to restore the boundaries")

    with psycopg.connect(h.dsn) as conn:
        assert conn.execute("SELECT * FROM cycle_boundaries ORDER BY order_cycle_id, kind").fetchall() == rows_before
    assert [e.event_id for e in h.outbox()] == before
