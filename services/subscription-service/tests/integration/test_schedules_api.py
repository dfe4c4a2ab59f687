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
    ({"name": "W", "opens_at": "2026-04-01T09:00:00", "closes_at": "2026-04-01T06:30:00Z"}, "closes_at"),  # 07:00Z
    ({"name": "W", "opens_at": "2026-04-01", "closes_at": "2026-04-02T09:00:00Z"}, "opens_at"),
    ({"name": "W", "opens_at": "2026-04-01T09:00:00Z", "closes_at": "2457-01-01T09:00:00"}, "closes_at"),
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


def generate(shop, **rule):
    return shop.manager.post(cycles(shop) + "/generate", {
        "opens_weekday": "sunday", "opens_time": "02:30", "closes_weekday": "sunday", "closes_time": "20:00",
        **rule})


def test_the_generator_keeps_the_year_limits_of_a_single_cycle_and_makes_nothing_when_refused(shop, kit):
    before = len(kit.ok(shop.manager.get(cycles(shop) + "?limit=200"))["items"])
    resp = generate(shop, start_date="2026-03-22", count=259, interval_weeks=52)  # up to 2283 otherwise
    assert resp.status_code == 422
    assert list(resp.get_json()["errors"]) == ["count"]
    far = generate(shop, start_date="9999-01-03", count=1)
    assert far.status_code == 422 and list(far.get_json()["errors"]) == ["start_date"]
    too_many = generate(shop, start_date="2026-03-22", count=261)
    assert too_many.status_code == 422 and "count" in too_many.get_json()["errors"]
    assert len(kit.ok(shop.manager.get(cycles(shop) + "?limit=200"))["items"]) == before
    assert len(kit.ok(generate(shop, start_date="2026-03-22", count=173, interval_weeks=52), 201)[
        "order_cycles"]) == 173


@pytest.mark.parametrize("name", ["localtime", "Factory", "US/Eastern"])
def test_the_generator_takes_canonical_time_zones_only(shop, name):
    resp = generate(shop, start_date="2026-06-01", count=1, timezone=name)
    assert resp.status_code == 422 and list(resp.get_json()["errors"]) == ["timezone"]


def test_the_generator_warns_of_each_local_time_moved_by_the_spring_gap_or_taken_first_in_the_autumn_fold(
        shop, kit):
    out = kit.ok(generate(shop, start_date="2027-03-21", count=33, name_prefix="Sunday"), 201)
    made = out["order_cycles"]
    gap, fold = made[1], made[32]  # Sundays 28 March 2027 and 31 October 2027
    assert gap["opens_at_local"] == "2027-03-28T03:30:00+02:00"
    assert fold["opens_at_local"] == "2027-10-31T02:30:00+02:00"
    assert [(w["index"], w["order_cycle_id"], w["field"], w["kind"]) for w in out["warnings"]] == [
        (1, gap["id"], "opens_at", "moved_forward"), (32, fold["id"], "opens_at", "ambiguous_first")]
    moved = out["warnings"][0]
    assert moved["order_cycle_name"] == "Sunday 2027-03-28" and moved["local_time"] == "2027-03-28T02:30"
    assert moved["resolved_local"] == "2027-03-28T03:30+02:00" and moved["timezone"] == "Europe/Paris"
    assert "does not exist" in moved["message"] and "moved forward by 1:00" in moved["message"]
    quiet = kit.ok(generate(shop, start_date="2027-06-06", count=2), 201)
    assert quiet["warnings"] == []


def test_a_cycle_given_in_local_time_is_moved_out_of_the_spring_gap_with_a_warning(shop, kit):
    c = kit.ok(shop.manager.post(cycles(shop), {"name": "Gap", "opens_at": "2027-03-28T02:30:00",
                                                "closes_at": "2027-03-29T09:00:00"}), 201)
    assert c["opens_at"] == "2027-03-28T01:30:00+00:00" and c["opens_at_local"] == "2027-03-28T03:30:00+02:00"
    assert c["closes_at_local"] == "2027-03-29T09:00:00+02:00"
    [w] = c["warnings"]
    assert (w["field"], w["kind"], w["resolved_local"]) == ("opens_at", "moved_forward", "2027-03-28T03:30+02:00")
    with_offset = kit.ok(shop.manager.post(cycles(shop), {"name": "Offset", "opens_at": "2027-03-28T02:30:00+01:00",
                                                          "closes_at": "2027-03-29T09:00:00+02:00"}), 201)
    assert with_offset["warnings"] == [], "an instant with an offset is taken as it is"


def test_a_cycle_given_in_local_time_in_the_autumn_fold_is_the_first_of_the_two_with_a_warning(shop, kit):
    c = kit.ok(shop.manager.post(cycles(shop), {"name": "Fold", "opens_at": "2027-10-30T09:00:00",
                                                "closes_at": "2027-10-31T02:30:00"}), 201)
    assert c["closes_at"] == "2027-10-31T00:30:00+00:00"
    [w] = c["warnings"]
    assert (w["field"], w["kind"], w["resolved_local"]) == ("closes_at", "ambiguous_first", "2027-10-31T02:30+02:00")
    moved = kit.ok(shop.manager.patch(f"{cycles(shop)}/{c['id']}", {"opens_at": "2027-03-28T02:15:00"}))
    assert [(w["field"], w["kind"]) for w in moved["warnings"]] == [("opens_at", "moved_forward")]
    assert "warnings" not in kit.ok(shop.manager.get(f"{cycles(shop)}/{c['id']}"))


SEASON = {"opens_weekday": "tuesday", "opens_time": "09:00", "closes_weekday": "friday", "closes_time": "17:00",
          "start_date": "2026-04-06", "count": 4, "name_prefix": "Spring"}


def test_a_schedule_is_created_with_a_generated_season_and_existing_cycles_in_one_step(shop, kit):
    s = kit.ok(shop.manager.post(schedules(shop), {"name": "Spring boxes", "order_cycle_ids": [shop.cycles[0]["id"]],
                                                   "generate": SEASON}), 201)
    assert s["name"] == "Spring boxes" and len(s["order_cycle_ids"]) == 5
    assert s["order_cycle_ids"][0] == shop.cycles[0]["id"]
    made = [c for c in s["order_cycles"] if c["name"].startswith("Spring")]
    assert [c["opens_at_local"] for c in made] == [f"2026-04-{d}T09:00:00+02:00" for d in ("07", "14", "21", "28")]
    assert all(c["schedule_ids"] == [s["id"]] for c in made) and s["warnings"] == []
    alone = kit.ok(shop.manager.post(schedules(shop), {"name": "Only a season", "generate": {**SEASON, "count": 1}}),
                   201)
    assert len(alone["order_cycle_ids"]) == 1


def test_a_refused_season_or_name_creates_neither_the_schedule_nor_any_cycle(shop, kit):
    def counts():
        return (len(kit.ok(shop.manager.get(cycles(shop) + "?limit=200"))["items"]),
                len(kit.ok(shop.manager.get(schedules(shop)))["items"]))

    before = counts()
    bad_rule = shop.manager.post(schedules(shop), {"name": "S", "generate": {**SEASON, "count": 261,
                                                                           "opens_weekday": "funday"}})
    assert bad_rule.status_code == 422
    assert {"generate.opens_weekday", "generate.count"} <= set(bad_rule.get_json()["errors"])
    past_years = shop.manager.post(schedules(shop), {"name": "S", "generate": {**SEASON, "start_date": "2199-12-10"}})
    assert past_years.status_code == 422 and list(past_years.get_json()["errors"]) == ["generate.count"]
    blank = shop.manager.post(schedules(shop), {"name": "   ", "generate": SEASON})
    assert blank.status_code == 422 and list(blank.get_json()["errors"]) == ["name"]
    nothing = shop.manager.post(schedules(shop), {"name": "Empty"})
    assert nothing.status_code == 422
    assert nothing.get_json()["errors"] == {"order_cycle_ids": ["Please select at least one order cycle."]}
    assert counts() == before


def test_a_single_cycle_joins_a_schedule_in_the_same_step_and_a_stale_schedule_refuses_it_whole(shop, kit,
                                                                                                   other_shop):
    url = f"{schedules(shop)}/{shop.schedule['id']}"
    version = kit.ok(shop.manager.get(url))["version"]
    body = {"name": "Extra", "opens_at": "2026-05-05T09:00:00", "closes_at": "2026-05-08T17:00:00",
            "schedule_id": shop.schedule["id"]}
    stale = shop.manager.post(cycles(shop), body, headers={"If-Match": f'"{version - 1}"'} if version > 1 else
                              {"If-Match": f'"{version + 1}"'})
    assert stale.status_code == 412
    assert not [c for c in kit.ok(shop.manager.get(cycles(shop) + "?limit=200"))["items"] if c["name"] == "Extra"]
    c = kit.ok(shop.manager.post(cycles(shop), body, headers={"If-Match": f'"{version}"'}), 201)
    assert c["schedule_ids"] == [shop.schedule["id"]] and c["opens_at_local"] == "2026-05-05T09:00:00+02:00"
    after = kit.ok(shop.manager.get(url))
    assert after["order_cycle_ids"][-1] == c["id"] and after["version"] == version + 1
    missing = shop.manager.post(cycles(shop), {**body, "schedule_id": "00000000-0000-4000-8000-000000000000"})
    assert missing.status_code == 404
    foreign = shop.manager.post(cycles(shop), {**body, "schedule_id": other_shop.schedule["id"]})
    assert foreign.status_code == 404
    assert len(kit.ok(other_shop.manager.get(f"{schedules(other_shop)}/{other_shop.schedule['id']}"))[
        "order_cycle_ids"]) == len(other_shop.cycles)
