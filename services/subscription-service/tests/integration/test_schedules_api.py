"""Order cycles and schedules over HTTP: shop time zone at the edges, UTC inside, DST-proof generator."""

from datetime import UTC, datetime, timedelta

import pytest

pytestmark = pytest.mark.integration


def cycles(shop):
    return f"/shops/{shop.id}/order-cycles"


def schedules(shop):
    return f"/shops/{shop.id}/schedules"


def test_a_cycle_accepts_any_offset_stores_utc_and_shows_shop_local_time(shop, kit):
    c = kit.ok(shop.manager.post(cycles(shop), {"name": "Easter", "opens_at": "2026-03-31T09:00:00+02:00",
                                                "closes_at": "2026-04-03T12:00:00-03:00"}), 201)
    assert c["opens_at"] == "2026-03-31T07:00:00+00:00"
    assert c["closes_at"] == "2026-04-03T15:00:00+00:00"
    assert c["opens_at_local"] == "2026-03-31T09:00:00+02:00"
    assert c["closes_at_local"] == "2026-04-03T17:00:00+02:00"
    assert c["status"] == "upcoming" and c["schedule_ids"] == []


@pytest.mark.parametrize("body,field", [
    ({"name": "W", "opens_at": "2026-04-02T09:00:00Z", "closes_at": "2026-04-01T09:00:00Z"}, "closes_at"),
    ({"name": "W", "opens_at": "2026-04-01T09:00:00", "closes_at": "2026-04-02T09:00:00Z"}, "opens_at"),
    ({"name": "W", "opens_at": "2020-01-01T09:00:00Z", "closes_at": "2020-01-02T09:00:00Z"}, "closes_at"),
    ({"name": "W", "opens_at": "9999-12-31T23:00:00-05:00", "closes_at": "2026-04-02T09:00:00Z"}, "opens_at"),
    ({"name": "", "opens_at": "2026-04-01T09:00:00Z", "closes_at": "2026-04-02T09:00:00Z"}, "name"),
])
def test_bad_cycles_are_refused(shop, body, field):
    resp = shop.manager.post(cycles(shop), body)
    assert resp.status_code == 422
    assert field in resp.get_json()["errors"]


def test_the_generator_keeps_local_times_across_the_dst_change(shop, kit):
    out = kit.ok(shop.manager.post(cycles(shop) + "/generate", {
        "opens_weekday": "tuesday", "opens_time": "09:00", "closes_weekday": "friday", "closes_time": "17:00",
        "start_date": "2026-03-16", "count": 12, "name_prefix": "Box"}), 201)
    generated = out["order_cycles"]
    assert len(generated) == 12
    assert {c["opens_at_local"][11:] for c in generated} == {"09:00:00+01:00", "09:00:00+02:00"}
    assert {c["closes_at_local"][11:16] for c in generated} == {"17:00"}
    assert generated[1]["opens_at"] == "2026-03-24T08:00:00+00:00"
    assert generated[2]["opens_at"] == "2026-03-31T07:00:00+00:00"
    assert generated[0]["name"] == "Box 2026-03-17"


def test_generated_cycles_can_go_straight_into_a_schedule(shop, kit):
    out = kit.ok(shop.manager.post(cycles(shop) + "/generate", {
        "opens_weekday": "monday", "opens_time": "08:00", "closes_weekday": "monday", "closes_time": "20:00",
        "start_date": "2026-06-01", "count": 2, "timezone": "America/New_York",
        "schedule_id": shop.schedule["id"]}), 201)
    assert out["order_cycles"][0]["opens_at"] == "2026-06-01T12:00:00+00:00"
    schedule = kit.ok(shop.manager.get(f"{schedules(shop)}/{shop.schedule['id']}"))
    assert len(schedule["order_cycle_ids"]) == 8
    bad = shop.manager.post(cycles(shop) + "/generate", {
        "opens_weekday": "funday", "opens_time": "25:00", "closes_weekday": "monday", "closes_time": "20:00",
        "start_date": "2026-06-01", "count": 0, "timezone": "Nowhere/Land"})
    assert {"opens_weekday", "opens_time", "count"} <= set(bad.get_json()["errors"])
    bad_tz = shop.manager.post(cycles(shop) + "/generate", {
        "opens_weekday": "monday", "opens_time": "08:00", "closes_weekday": "monday", "closes_time": "20:00",
        "start_date": "2026-06-01", "count": 1, "timezone": "Nowhere/Land"})
    assert bad_tz.status_code == 422 and "timezone" in bad_tz.get_json()["errors"]


def test_moving_cycles_follows_their_status(shop, kit, clock):
    first = shop.cycles[0]  # opens Tuesday 17 March 09:00 Paris, closes Friday 20 March 17:00
    url = f"{cycles(shop)}/{first['id']}"
    later = (datetime.fromisoformat(first["closes_at"]) + timedelta(hours=2)).isoformat()
    moved = kit.ok(shop.manager.patch(url, {"closes_at": later}, headers={"If-Match": '"1"'}))
    assert moved["closes_at"] == later and moved["version"] == 2
    assert shop.manager.patch(url, {"name": "x"}, headers={"If-Match": '"1"'}).status_code == 412
    clock(datetime(2026, 3, 18, 12, tzinfo=UTC))  # open now
    refused = shop.manager.patch(url, {"opens_at": "2026-03-19T09:00:00+01:00"})
    assert refused.status_code == 409 and "opens_at" in refused.get_json()["errors"]
    clock(datetime(2026, 3, 25, 12, tzinfo=UTC))  # closed now
    assert kit.ok(shop.manager.get(url))["status"] == "closed"
    assert shop.manager.patch(url, {"name": "Renamed"}).status_code == 409


def test_a_cycle_in_a_schedule_cannot_be_deleted_but_a_lone_one_can(shop, kit):
    in_schedule = shop.cycles[0]["id"]
    refused = shop.manager.delete(f"{cycles(shop)}/{in_schedule}")
    assert refused.status_code == 409 and "Weekly" in refused.get_json()["detail"]
    lone = kit.ok(shop.manager.post(cycles(shop), {"name": "Lone", "opens_at": "2026-05-01T09:00:00Z",
                                                   "closes_at": "2026-05-02T09:00:00Z"}), 201)
    assert shop.manager.delete(f"{cycles(shop)}/{lone['id']}").status_code == 204
    assert shop.manager.get(f"{cycles(shop)}/{lone['id']}").status_code == 404


def test_schedules_are_created_renamed_and_their_cycles_added_and_removed(shop, kit):
    ids = [c["id"] for c in shop.cycles]
    s = kit.ok(shop.manager.post(schedules(shop), {"name": "Fortnightly", "order_cycle_ids": ids[::2]}), 201)
    assert s["order_cycle_ids"] == ids[::2] and s["subscription_count"] == 0
    assert [c["id"] for c in s["order_cycles"]] == ids[::2]
    url = f"{schedules(shop)}/{s['id']}"
    changed = kit.ok(shop.manager.patch(url, {"name": "Bi-weekly", "add": [ids[1]], "remove": [ids[0]]},
                                        headers={"If-Match": '"1"'}))
    assert changed["name"] == "Bi-weekly" and changed["version"] == 3
    assert set(changed["order_cycle_ids"]) == {ids[1], ids[2], ids[4]}
    full = kit.ok(shop.manager.patch(url, {"order_cycle_ids": [ids[5]]}))
    assert full["order_cycle_ids"] == [ids[5]]
    assert shop.manager.patch(url, {"remove": [ids[5]]}).status_code == 422
    assert shop.manager.patch(url, {"order_cycle_ids": []}).status_code == 422
    assert shop.manager.post(schedules(shop), {"name": "Empty", "order_cycle_ids": []}).status_code == 422
    names = [x["name"] for x in kit.ok(shop.manager.get(schedules(shop) + "?sort=name"))["items"]]
    assert names == ["Bi-weekly", "Weekly"]
    in_schedule = kit.ok(shop.manager.get(cycles(shop) + f"?schedule_id={s['id']}"))["items"]
    assert [c["id"] for c in in_schedule] == [ids[5]]


def test_a_schedule_only_takes_the_shops_own_cycles(shop, other_shop):
    foreign = other_shop.cycles[0]["id"]
    resp = shop.manager.post(schedules(shop), {"name": "Mixed", "order_cycle_ids": [foreign]})
    assert resp.status_code == 422 and "order_cycle_ids" in resp.get_json()["errors"]


def test_a_schedule_referenced_by_any_subscription_even_cancelled_cannot_be_deleted(shop, kit):
    sub = kit.ok(shop.manager.post(f"/shops/{shop.id}/subscriptions", kit.subscription_body(shop)), 201)
    url = f"{schedules(shop)}/{shop.schedule['id']}"
    assert shop.manager.delete(url).status_code == 409
    kit.ok(shop.manager.post(f"/shops/{shop.id}/subscriptions/{sub['id']}/cancel", {}))
    assert shop.manager.delete(url).status_code == 409
    unused = kit.ok(shop.manager.post(schedules(shop), {"name": "Unused", "order_cycle_ids": [shop.cycles[0]["id"]]}),
                    201)
    assert shop.manager.delete(f"{schedules(shop)}/{unused['id']}").status_code == 204
    assert shop.manager.get(f"{schedules(shop)}/{unused['id']}").status_code == 404


def test_cycles_are_listed_by_status_and_window(shop, kit, clock):
    clock(datetime(2026, 3, 25, 12, tzinfo=UTC))  # the first cycle closed, the second open
    assert [c["id"] for c in kit.ok(shop.manager.get(cycles(shop) + "?status=closed"))["items"]] == \
        [shop.cycles[0]["id"]]
    assert [c["id"] for c in kit.ok(shop.manager.get(cycles(shop) + "?status=open"))["items"]] == \
        [shop.cycles[1]["id"]]
    upcoming = kit.ok(shop.manager.get(cycles(shop) + "?status=upcoming&sort=-opens_at&limit=2"))
    assert [c["id"] for c in upcoming["items"]] == [shop.cycles[5]["id"], shop.cycles[4]["id"]]
    window = kit.ok(shop.manager.get(cycles(shop) + "?closes_after=2026-04-01T00:00:00Z"
                                     "&opens_before=2026-04-07T00:00:00%2B02:00"))["items"]
    assert [c["id"] for c in window] == [shop.cycles[2]["id"]]
    assert shop.customer_api.post(cycles(shop), {"name": "C", "opens_at": "2026-05-01T09:00:00Z",
                                                 "closes_at": "2026-05-02T09:00:00Z"}).status_code == 403
