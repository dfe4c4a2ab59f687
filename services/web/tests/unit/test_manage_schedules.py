"""The console's schedules and order cycles pages from subscription-service's answers (the shapes its API
documents): what is listed and in which time zone, what each form sends (the season as the generator's rule, local
times without offset, If-Match with the version shown), and what a refusal becomes (by its field or button, in the
manager's words, the schedule shown as it is now)."""

from __future__ import annotations

import pytest

SCHEDULE_ID = "5c0c3f2e-0000-4000-8000-00000000000a"
OTHER_ID = "5c0c3f2e-0000-4000-8000-00000000000b"
C1, C2, C3 = ("6d0c3f2e-0000-4000-8000-000000000001", "6d0c3f2e-0000-4000-8000-000000000002",
              "6d0c3f2e-0000-4000-8000-000000000003")


def cycle(cid, name, opens, closes, status="upcoming", schedule_ids=(), version=1):
    return {"id": cid, "name": name, "opens_at": opens, "closes_at": closes, "status": status,
            "schedule_ids": list(schedule_ids), "timezone": "Europe/Paris", "version": version}


CYCLES = [
    cycle(C1, "Week 14", "2026-12-08T08:00:00+00:00", "2026-12-11T16:00:00+00:00", "open", [SCHEDULE_ID]),
    cycle(C2, "Week 15", "2026-12-15T08:00:00+00:00", "2026-12-18T16:00:00+00:00", "upcoming", [SCHEDULE_ID]),
    cycle(C3, "Christmas", "2026-12-20T08:00:00+00:00", "2026-12-22T16:00:00+00:00"),
]


def schedule(**kw):
    body = {"id": SCHEDULE_ID, "name": "Weekly box", "order_cycle_ids": [C1, C2], "order_cycles": CYCLES[:2],
            "subscription_count": 3, "version": 4}
    body.update(kw)
    return body


def signed_in_manager(signed_in_by_link, fake_http, shop_id, locale):
    client = signed_in_by_link("manager")
    base = f"/api/v1/shops/{shop_id}"
    fake_http.answers[("GET", base)] = (200, {"id": shop_id, "name": "La Ruche", "locale": locale,
                                              "timezone": "Europe/Paris", "currency": "EUR"})
    fake_http.answers[("GET", f"{base}/schedules")] = (200, {"items": [schedule()], "next_cursor": None})
    fake_http.answers[("GET", f"{base}/schedules/{SCHEDULE_ID}")] = (200, schedule())
    fake_http.answers[("GET", f"{base}/order-cycles")] = (200, {"items": CYCLES, "next_cursor": None})
    return client


@pytest.fixture
def english(signed_in_by_link, fake_http, shop_id):
    return signed_in_manager(signed_in_by_link, fake_http, shop_id, "en")


@pytest.fixture
def french(signed_in_by_link, fake_http, shop_id):
    return signed_in_manager(signed_in_by_link, fake_http, shop_id, "fr")


def page(shop_id, tail=""):
    return f"/manage/shops/{shop_id}/schedules{tail}"


@pytest.fixture
def post(csrf_in):
    """``post(client, shop_id, tail, data, on="")``: the form of the page at ``on`` posted to ``tail``."""

    def send(client, shop_id, tail, data, on=""):
        html = client.get(page(shop_id, on)).get_data(as_text=True)
        return client.post(page(shop_id, tail), data={**csrf_in(html, page(shop_id, tail)), **data})

    return send


SEASON = {"schedule-opens_weekday": "tuesday", "schedule-opens_time": "09:00", "schedule-closes_weekday": "friday",
          "schedule-closes_time": "17:00", "schedule-start_date": "2027-04-05", "schedule-count": "12",
          "schedule-interval_weeks": "1"}


def test_the_schedules_and_cycles_are_listed_with_their_times_in_the_shops_time_zone_and_the_rules(english,
                                                                                                  shop_id, text_of):
    resp = english.get(page(shop_id))
    text = text_of(resp.get_data(as_text=True))
    assert resp.status_code == 200
    assert "Weekly box Week 14 closes Fri, Dec 11, 2026, 5:00 PM 2 3" in text  # 16:00 UTC is 17:00 in Paris
    assert ("Week 15 Upcoming In schedules: Weekly box In a schedule: remove it from the schedule to delete it. "
            "Tue, Dec 15, 2026, 9:00 AM") in text
    assert "An order cycle that is in a schedule cannot be deleted" in text
    assert "A schedule that any subscription has used, even a cancelled one, cannot be deleted." in text
    assert "In a schedule: remove it from the schedule to delete it." in text
    assert f'action="{page(shop_id, f"/cycles/{C3}/delete")}"' in resp.get_data(as_text=True)  # the lone one only
    assert f'action="{page(shop_id, f"/cycles/{C1}/delete")}"' not in resp.get_data(as_text=True)


def test_the_pages_read_in_french_with_french_dates(french, shop_id, text_of):
    text = text_of(french.get(page(shop_id)).get_data(as_text=True))
    assert "Calendriers et cycles de commande" in text
    assert "ven. 11 déc. 2026, 17:00" in text
    text = text_of(french.get(page(shop_id, f"/{SCHEDULE_ID}")).get_data(as_text=True))
    assert "Calendrier Weekly box" in text and "Retirer du calendrier" in text


def test_a_schedule_is_created_with_a_weekly_season_sent_as_the_generators_rule_and_its_warnings_told(
        english, fake_http, shop_id, post, sent, text_of):
    made = schedule(id=OTHER_ID, name="Spring", warnings=[{
        "order_cycle_name": "Spring 2027-03-28", "field": "opens_at", "kind": "moved_forward",
        "local_time": "2027-03-28T02:30", "timezone": "Europe/Paris", "resolved_local": "2027-03-28T03:30+02:00"}])
    fake_http.answers[("POST", f"/api/v1/shops/{shop_id}/schedules")] = (201, made)
    fake_http.answers[("GET", f"/api/v1/shops/{shop_id}/schedules/{OTHER_ID}")] = (200, made)
    resp = post(english, shop_id, "/new", {"schedule-name": " Spring ", **SEASON,
                                           "schedule-order_cycle_ids": [C3]})
    assert resp.status_code == 303 and resp.headers["Location"].endswith(page(shop_id, f"/{OTHER_ID}"))
    [create] = sent(fake_http, "POST")[1:]
    assert create["json"] == {"name": "Spring", "order_cycle_ids": [C3], "generate": {
        "opens_weekday": "tuesday", "opens_time": "09:00", "closes_weekday": "friday", "closes_time": "17:00",
        "start_date": "2027-04-05", "count": 12, "interval_weeks": 1, "name_prefix": "Spring"}}
    text = text_of(english.get(resp.headers["Location"]).get_data(as_text=True))
    assert "The schedule Spring is created. Order cycles in it: 2." in text
    assert "2027-03-28 02:30 does not exist that day in Europe/Paris" in text


def test_a_schedule_without_any_cycle_or_with_half_a_season_is_refused_by_the_fields_before_the_api(
        english, fake_http, shop_id, post, sent, text_of):
    resp = post(english, shop_id, "/new", {"schedule-name": "Empty"})
    text = text_of(resp.get_data(as_text=True))
    assert resp.status_code == 422 and "Choose at least one order cycle, or describe a weekly season." in text
    half = post(english, shop_id, "/new", {"schedule-name": "Half", "schedule-opens_weekday": "tuesday"})
    text = text_of(half.get_data(as_text=True))
    assert half.status_code == 422
    assert "Enter the time orders open, like 09:00" in text and "Enter how many order cycles to make" in text
    assert len(sent(fake_http, "POST")) == 1  # the sign-in only


def test_the_apis_refusal_of_a_season_shows_by_its_field_in_french(french, fake_http, shop_id, post, text_of):
    fake_http.answers[("POST", f"/api/v1/shops/{shop_id}/schedules")] = (422, {
        "status": 422, "errors": {"generate.count": [
            "Must be between the years 2000 and 2200: from this start date and interval at most 3 cycles fit."]}})
    resp = post(french, shop_id, "/new", {"schedule-name": "Far", **SEASON})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert 'href="#schedule-count"' in html
    error = html.split('id="schedule-count-error"', 1)[1].split("</p>", 1)[0]
    assert "au plus 3 cycles de commande" in text_of(error)
    assert "Must be" not in text_of(html)


def test_deleting_a_cycle_that_joined_a_schedule_meanwhile_is_refused_by_its_button_naming_the_schedule(
        french, fake_http, shop_id, post, sent, text_of):
    fake_http.answers[("DELETE", f"/api/v1/shops/{shop_id}/order-cycles/{C3}")] = (409, {
        "status": 409, "type": "https://docs.recurring-orders.example/problems/conflict",
        "detail": "This order cycle is linked to a schedule and cannot be deleted; remove it from Noël first.",
        "errors": {"schedules": ["Noël"]}})
    resp = post(french, shop_id, f"/cycles/{C3}/delete", {f"delete-{C3}-version": "1"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    [delete] = sent(fake_http, "DELETE")
    assert delete["headers"]["If-Match"] == '"1"'
    message = text_of(html.split(f'id="delete-{C3}-form"', 1)[1].split("</p>", 1)[0])
    assert "Noël" in message and "ne peut pas être supprimé" in message
    assert f'href="#delete-{C3}-form"' in html


def test_removing_a_cycle_sends_the_version_shown_and_a_stale_page_shows_the_schedule_as_it_is_now(
        english, fake_http, shop_id, csrf_in, sent, text_of):
    path = f"/api/v1/shops/{shop_id}/schedules/{SCHEDULE_ID}"
    fake_http.answers[("PATCH", path)] = (412, {"status": 412, "type": "https://docs.recurring-orders.example/"
                                                                      "problems/stale-version", "detail": "x"})
    html = english.get(page(shop_id, f"/{SCHEDULE_ID}")).get_data(as_text=True)
    tail = f"/{SCHEDULE_ID}/cycles/{C2}/remove"
    fake_http.answers[("GET", path)] = (200, schedule(version=5, name="Weekly box (renamed)"))
    resp = english.post(page(shop_id, tail), data={**csrf_in(html, page(shop_id, tail)),
                                                   f"remove-{C2}-version": "4"})
    [patch] = sent(fake_http, "PATCH")
    assert patch["json"] == {"remove": [C2]} and patch["headers"]["If-Match"] == '"4"'
    out = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "This schedule changed since you opened the page: here it is as it is now." in text_of(out)
    assert "Weekly box (renamed)" in out and f'name="remove-{C2}-version" type="hidden" value="5"' in out


def test_removing_the_last_cycle_is_refused_with_the_rule_in_the_managers_words(
        english, fake_http, shop_id, post, text_of):
    path = f"/api/v1/shops/{shop_id}/schedules/{SCHEDULE_ID}"
    fake_http.answers[("PATCH", path)] = (422, {"status": 422, "errors": {
        "remove": ["A schedule needs at least one order cycle."]}})
    resp = post(english, shop_id, f"/{SCHEDULE_ID}/cycles/{C1}/remove", {f"remove-{C1}-version": "4"},
                on=f"/{SCHEDULE_ID}")
    text = text_of(resp.get_data(as_text=True))
    assert "A schedule keeps at least one order cycle: add another one before removing this one." in text


def test_a_season_and_a_single_cycle_go_into_the_schedule_with_its_version_and_local_times(english, fake_http,
                                                                                            shop_id, post, sent):
    base = f"/api/v1/shops/{shop_id}"
    fake_http.answers[("POST", f"{base}/order-cycles/generate")] = (201, {"order_cycles": CYCLES[:2],
                                                                          "schedule_id": SCHEDULE_ID, "warnings": []})
    fake_http.answers[("POST", f"{base}/order-cycles")] = (201, {**CYCLES[2], "warnings": []})
    season = {k.replace("schedule-", "season-"): v for k, v in SEASON.items()}
    resp = post(english, shop_id, f"/{SCHEDULE_ID}/generate", {**season, "season-version": "4"}, on=f"/{SCHEDULE_ID}")
    assert resp.status_code == 303
    resp = post(english, shop_id, f"/{SCHEDULE_ID}/cycles", {
        "cycle-name": "Christmas", "cycle-opens_at": "2026-12-20T09:00", "cycle-closes_at": "2026-12-22T17:00",
        "cycle-version": "4"}, on=f"/{SCHEDULE_ID}")
    assert resp.status_code == 303
    generate, single = sent(fake_http, "POST")[1:]
    assert generate["json"]["schedule_id"] == SCHEDULE_ID and generate["json"]["count"] == 12
    assert generate["json"]["name_prefix"] == "Weekly box"  # the schedule's name, the date added by the API
    assert generate["headers"]["If-Match"] == '"4"'
    assert single["json"] == {"name": "Christmas", "opens_at": "2026-12-20T09:00:00",
                              "closes_at": "2026-12-22T17:00:00", "schedule_id": SCHEDULE_ID}
    assert single["headers"]["If-Match"] == '"4"'


def test_a_schedule_in_use_says_why_it_cannot_be_deleted_and_a_refusal_of_its_deletion_is_shown(
        english, fake_http, shop_id, post, text_of):
    text = text_of(english.get(page(shop_id, f"/{SCHEDULE_ID}")).get_data(as_text=True))
    assert "3 subscriptions use this schedule (cancelled ones count too), so it cannot be deleted." in text
    fake_http.answers[("GET", f"/api/v1/shops/{shop_id}/schedules/{SCHEDULE_ID}")] = (200,
                                                                                      schedule(subscription_count=0))
    fake_http.answers[("DELETE", f"/api/v1/shops/{shop_id}/schedules/{SCHEDULE_ID}")] = (409, {
        "status": 409, "detail": "This schedule cannot be deleted because it has associated subscriptions (1, "
                                 "cancelled ones included)."})
    resp = post(english, shop_id, f"/{SCHEDULE_ID}/delete", {"delete-version": "4"}, on=f"/{SCHEDULE_ID}")
    text = text_of(resp.get_data(as_text=True))
    assert resp.status_code == 422
    assert "This schedule is used by subscriptions (1, cancelled ones count too), so it cannot be deleted." in text


def test_a_customer_or_nobody_is_sent_to_the_managers_sign_in(client, shop_id):
    resp = client.get(page(shop_id))
    assert resp.status_code == 302 and "/manage/sign-in" in resp.headers["Location"]


def test_existing_cycles_are_offered_and_added_to_the_schedule_with_its_version(
        english, fake_http, shop_id, csrf_in, sent, text_of):
    html = english.get(page(shop_id, f"/{SCHEDULE_ID}")).get_data(as_text=True)
    offered = html.split('id="add-order_cycle_ids"', 1)[1].split("</fieldset>", 1)[0]
    assert "Christmas" in offered and "Week 14" not in offered  # only those not in it yet
    path = f"/api/v1/shops/{shop_id}/schedules/{SCHEDULE_ID}"
    fake_http.answers[("PATCH", path)] = (200, schedule(order_cycle_ids=[C1, C2, C3], version=5))
    tail = f"/{SCHEDULE_ID}/add"
    resp = english.post(page(shop_id, tail), data={**csrf_in(html, page(shop_id, tail)), "add-version": "4",
                                                   "add-order_cycle_ids": [C3]})
    assert resp.status_code == 303
    [patch] = sent(fake_http, "PATCH")
    assert patch["json"] == {"add": [C3]} and patch["headers"]["If-Match"] == '"4"'
    text = text_of(english.get(resp.headers["Location"]).get_data(as_text=True))
    assert "The order cycles are added. Order cycles in the schedule: 3." in text


def test_closed_cycles_are_asked_for_only_when_the_manager_wants_them(english, fake_http, shop_id):
    english.get(page(shop_id))
    english.get(page(shop_id, "?show=closed"))
    asked = [s["params"]["status"] for s in fake_http.sent if s["path"].endswith("/order-cycles")]
    assert asked == [["upcoming", "open"], ["upcoming", "open", "closed"]]
