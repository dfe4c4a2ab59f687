"""Holidays (every delivery between two dates skipped in one step) and a pause until a date, over HTTP, for the
manager and for the customer in their own session, as the shop's settings allow; single skips from that session.

The shop's cycles (conftest): weekly, opening Tuesday 09:00 and closing Friday 17:00 Europe/Paris, from Tuesday
17 March 2026; the clock is Monday 16 March 2026, 10:00 UTC. So deliveries close on 20 and 27 March, 3, 10, 17
and 24 April.
"""

import uuid

import pytest

from devstack.testing import rows

pytestmark = pytest.mark.integration


def url(shop, sub, tail=""):
    return f"/shops/{shop.id}/subscriptions/{sub['id']}{tail}"


def create(shop, kit, customer_id=None):
    body = kit.subscription_body(shop, **({"customer_id": customer_id, "payment_method_id": shop.cash["id"]}
                                          if customer_id else {}))
    return kit.ok(shop.manager.post(f"/shops/{shop.id}/subscriptions", body), 201)


def someone_else(shop, kit):
    """Another customer of the same shop, with a subscription of their own."""
    other = kit.ok(shop.manager.post(f"/shops/{shop.id}/customers", {
        "email": f"dominique-{uuid.uuid4().hex[:6]}@example.org", "first_name": "Dominique", "last_name": "Roy",
        "bill_address": kit.ADDRESS, "ship_address": kit.ADDRESS}), 201)
    return create(shop, kit, other["id"])


def states(shop, kit, sub, api=None):
    return {o["order_cycle_id"]: o["state"]
            for o in kit.ok((api or shop.manager).get(url(shop, sub, "/occurrences")))["items"]}


def events_of(app, sub, event_type):
    return [r[0] for r in rows(app.dsn, "SELECT convert_from(body, 'UTF8')::jsonb -> 'payload' FROM event_store "
                                        "WHERE aggregate_id = %s AND event_type = %s ORDER BY aggregate_version",
                               [sub["id"], event_type])]


def test_a_customer_session_skips_and_resumes_its_own_delivery_and_never_another_customers(shop, other_shop, kit):
    mine, theirs = create(shop, kit), someone_else(shop, kit)
    first = shop.cycles[0]["id"]
    skipped = kit.ok(shop.session.post(url(shop, mine, f"/occurrences/{first}/skip")))
    assert skipped["state"] == "skipped"
    assert kit.ok(shop.session.post(url(shop, mine, f"/occurrences/{first}/resume")))["state"] == "pending"
    assert shop.session.post(url(shop, theirs, f"/occurrences/{first}/skip")).status_code == 404
    foreign = create(other_shop, kit)
    assert shop.session.post(f"/shops/{other_shop.id}/subscriptions/{foreign['id']}/occurrences/"
                             f"{other_shop.cycles[0]['id']}/skip").status_code == 404
    assert states(shop, kit, theirs)[first] == "pending"
    kit.ok(shop.manager.patch(f"/shops/{shop.id}", {"allow_customer_skip": False}))
    refused = shop.session.post(url(shop, mine, f"/occurrences/{first}/skip"))
    assert refused.status_code == 403 and "does not let customers" in refused.get_json()["detail"]
    assert states(shop, kit, mine)[first] == "pending"


def test_holidays_skip_every_delivery_between_two_dates_in_one_step_once_with_their_history(shop, kit, app):
    sub = create(shop, kit)
    cycles = [c["id"] for c in shop.cycles]
    resp = shop.session.post(url(shop, sub, "/holidays"), {"from": "2026-03-25", "to": "2026-04-05"},
                             headers={"X-Change-Reason": "away in the mountains"})
    body = kit.ok(resp)
    assert body["from"] == "2026-03-25" and body["to"] == "2026-04-05" and body["skipped_now"] == 2
    assert [o["order_cycle_id"] for o in body["occurrences"]] == cycles[1:3]
    assert {o["state"] for o in body["occurrences"]} == {"skipped"}
    assert resp.headers["ETag"] == '"3"'  # one step: created at 1, two skips
    assert states(shop, kit, sub) == {cycles[0]: "pending", cycles[1]: "skipped", cycles[2]: "skipped",
                                      cycles[3]: "pending", cycles[4]: "pending", cycles[5]: "pending"}
    holiday = {"first_day": "2026-03-25", "last_day": "2026-04-05"}
    assert [(p["order_cycle_id"], p["holiday"], p["actor"]["type"], p["reason"])
            for p in events_of(app, sub, "OccurrenceSkipped")] == [
        (cycles[1], holiday, "customer", "away in the mountains"), (cycles[2], holiday, "customer",
                                                                    "away in the mountains")]
    history = kit.ok(shop.manager.get(url(shop, sub, "/history")))["items"]
    assert [(h["event_type"], h["data"]["order_cycle_id"], h["data"]["holiday"]) for h in history
            if h["event_type"] == "OccurrenceSkipped"] == [("OccurrenceSkipped", cycles[1], holiday),
                                                           ("OccurrenceSkipped", cycles[2], holiday)]

    again = shop.session.post(url(shop, sub, "/holidays"), {"from": "2026-03-25", "to": "2026-04-05"})
    assert kit.ok(again)["skipped_now"] == 0 and again.headers["ETag"] == '"3"'
    assert len(events_of(app, sub, "OccurrenceSkipped")) == 2
    # a longer holiday over the same days skips only what was not skipped yet; the manager may too
    longer = kit.ok(shop.manager.post(url(shop, sub, "/holidays"), {"from": "2026-03-16", "to": "2026-04-11"}))
    assert longer["skipped_now"] == 2 and [o["order_cycle_id"] for o in longer["occurrences"]] == cycles[:4]


@pytest.mark.parametrize(("body", "field", "message"), [
    ({"from": "2026-04-05", "to": "2026-03-25"}, "to", "Choose a day on or after the first day."),
    ({"from": "2026-03-15", "to": "2026-03-25"}, "from", "Choose a day from today on."),
    ({"from": "2026-03-21", "to": "2026-03-26"}, "from", "No delivery of this subscription falls between these dates."),
    ({"from": "2026-03-25", "to": "2027-03-25"}, "to", "Choose a date at most 366 days from today."),
    ({"to": "2026-03-25"}, "from", None),
    ({"from": "2026-03-25", "to": "the 5th"}, "to", None),
])
def test_bad_holiday_ranges_are_refused_by_the_field_and_change_nothing(shop, kit, app, body, field, message):
    sub = create(shop, kit)
    resp = shop.session.post(url(shop, sub, "/holidays"), body)
    assert resp.status_code == 422 and resp.content_type == "application/problem+json"
    errors = resp.get_json()["errors"]
    assert field in errors and (message is None or errors[field] == [message])
    assert kit.ok(shop.manager.get(url(shop, sub)))["version"] == 1
    assert events_of(app, sub, "OccurrenceSkipped") == []


def test_holidays_and_pausing_are_the_customers_only_for_their_own_and_as_the_shop_allows(shop, other_shop, kit):
    mine, theirs = create(shop, kit), someone_else(shop, kit)
    holiday = {"from": "2026-03-25", "to": "2026-04-05"}
    assert shop.session.post(url(shop, theirs, "/holidays"), holiday).status_code == 404
    assert shop.session.post(url(shop, theirs, "/pause"), {"until": "2026-04-01"}).status_code == 404
    assert other_shop.manager.post(f"/shops/{shop.id}/subscriptions/{mine['id']}/holidays", holiday).status_code \
        == 404
    kit.ok(shop.manager.patch(f"/shops/{shop.id}", {"allow_customer_skip": False}))
    for tail, body in (("/holidays", holiday), ("/pause", {"until": "2026-04-01"}), ("/pause", {})):
        refused = shop.session.post(url(shop, mine, tail), body)
        assert refused.status_code == 403, tail
        assert "does not let customers" in refused.get_json()["detail"]
    assert kit.ok(shop.manager.get(url(shop, mine)))["version"] == 1
    kit.ok(shop.manager.patch(f"/shops/{shop.id}", {"allow_customer_skip": True}))
    paused = kit.ok(shop.session.post(url(shop, mine, "/pause"), {"until": "2026-04-01"}))
    assert paused["state"] == "paused"
    assert kit.ok(shop.session.post(url(shop, mine, "/unpause")))["state"] == "active"


def test_a_pause_until_a_date_says_when_it_resumes_and_a_day_not_after_today_is_refused(shop, kit, app):
    sub = create(shop, kit)
    for until, message in (("2026-03-16", "Choose a date after today."), ("2026-03-10", "Choose a date after today."),
                           ("2027-04-01", "Choose a date at most 366 days from today.")):
        refused = shop.manager.post(url(shop, sub, "/pause"), {"until": until})
        assert refused.status_code == 422 and refused.get_json()["errors"] == {"until": [message]}, until
    assert shop.manager.post(url(shop, sub, "/pause"), {"until": "soon"}).status_code == 422
    assert kit.ok(shop.manager.get(url(shop, sub)))["state"] == "active"

    paused = kit.ok(shop.manager.post(url(shop, sub, "/pause"), {"until": "2026-04-01"}))
    # the start of 1 April in Paris (summer time since 29 March)
    assert paused["state"] == "paused" and paused["resumes_on"] == "2026-04-01"
    assert paused["paused_until"] == "2026-03-31T22:00:00+00:00"
    [event] = events_of(app, sub, "SubscriptionPaused")
    assert event["resumes_at"] == "2026-03-31T22:00:00+00:00" and event["resumes_on"] == "2026-04-01"
    assert {o["state"] for o in kit.ok(shop.manager.get(url(shop, sub, "/occurrences")))["items"]} == {"paused"}

    unpaused = kit.ok(shop.manager.post(url(shop, sub, "/unpause")))
    assert unpaused["paused_until"] is None and unpaused["resumes_on"] is None
    indefinitely = kit.ok(shop.manager.post(url(shop, sub, "/pause"), {}))
    assert indefinitely["state"] == "paused" and indefinitely["paused_until"] is None
    assert "resumes_at" not in events_of(app, sub, "SubscriptionPaused")[-1] or \
        events_of(app, sub, "SubscriptionPaused")[-1]["resumes_at"] is None
