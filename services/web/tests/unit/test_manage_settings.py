"""The shop's settings page (manage/settings.py), the API played by the stand-in: what the form shows, what it
sends (with If-Match), a stale form shown as the shop is now, and the API's refusals by their fields in the
manager's language."""

from __future__ import annotations

import re
import uuid
from html import unescape

import pytest

SHIP = "44444444-4444-4444-8444-444444444444"
ZONES = ["Africa/Abidjan", "America/Argentina/Buenos_Aires", "Europe/Paris", "UTC"]


def shop(shop_id: str, **kw) -> dict:
    return {"id": shop_id, "name": "La Ruche", "locale": "en", "timezone": "Europe/Paris", "currency": "EUR",
            "contact_email": "hub@example.org", "subscriptions_enabled": True, "allow_order_changes": True,
            "allow_customer_skip": False, "order_reminder_hours_before_close": None, "late_placement": "while_open",
            "payment_retry": {"delays_hours": [24, 72], "max_attempts": 3}, "version": 7, **kw}


@pytest.fixture
def manager(client, fake_http, shop_id):
    with client.session_transaction() as session:
        session.update(token="rop_manager", token_id=str(uuid.uuid4()), role="manager", shop_ids=[shop_id],
                       customer_id=None, signed_in_at=0)
    fake_http.answers[("GET", f"/api/v1/shops/{shop_id}")] = (200, shop(shop_id))
    fake_http.answers[("GET", "/api/v1/time-zones")] = (200, {"items": [{"name": z} for z in ZONES]})
    fake_http.answers[("GET", f"/api/v1/shops/{shop_id}/shipping-methods")] = (200, {"items": [
        {"id": SHIP, "name": "Home delivery", "pickup": False, "fee_flat": 450, "fee_percent_bp": 0, "active": True,
         "version": 3}], "next_cursor": None})
    fake_http.answers[("GET", f"/api/v1/shops/{shop_id}/payment-methods")] = (200, {"items": [],
                                                                                    "next_cursor": None})
    client.url = f"/manage/shops/{shop_id}/settings"
    return client


def text_of(html: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))).replace("\xa0", " ")


def form_data(page: str, **changes) -> dict:
    """What the browser sends for the page's form as shown, with ``changes`` (None: a box left unticked)."""
    data = {"csrf_token": re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1),
            "version": re.search(r'id="version" name="version" type="hidden" value="([^"]*)"', page).group(1)}
    for name in ("subscriptions_enabled", "late_placement"):
        data[name] = re.search(rf'checked[^>]*name="{name}"[^>]*value="([^"]+)"|name="{name}"[^>]*value="([^"]+)"'
                               rf'[^>]*checked', page).group(0).split('value="')[1].split('"')[0]
    for name in ("allow_order_changes", "allow_customer_skip"):
        if re.search(rf'<input[^>]*checked[^>]*name="{name}"|<input[^>]*name="{name}"[^>]*checked', page):
            data[name] = "y"
    for name in ("order_reminder_hours_before_close", "retry_delays"):
        found = re.search(rf'name="{name}"[^>]*value="([^"]*)"', page)
        data[name] = unescape(found.group(1)) if found else ""
    for name in ("locale", "timezone"):
        select = page.split(f'name="{name}"', 1)[1].split("</select>", 1)[0]
        data[name] = re.search(r'<option[^>]* selected[^>]* value="([^"]+)"', select).group(1)
    for name, value in changes.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    return data


def test_the_page_shows_the_shops_settings_each_with_what_it_does(manager, shop_id):
    page = manager.get(manager.url).get_data(as_text=True)
    text = text_of(page)
    assert "Now on: orders are placed for subscriptions." in text and "What turning it off does" in text
    assert "Orders already placed stay as they are" in text
    data = form_data(page)
    assert data["subscriptions_enabled"] == "on" and data["late_placement"] == "while_open"
    assert data["allow_order_changes"] == "y" and "allow_customer_skip" not in data
    assert data["retry_delays"] == "24, 72" and data["order_reminder_hours_before_close"] == ""
    assert data["locale"] == "en" and data["timezone"] == "Europe/Paris" and data["version"] == "7"
    assert '<optgroup label="America">' in page and '>America/Argentina/Buenos Aires</option>' in page
    assert 'aria-current="page">Settings</a>' in page


def test_saving_sends_every_setting_with_the_version_shown_and_comes_back_saying_so(manager, fake_http, shop_id):
    page = manager.get(manager.url).get_data(as_text=True)
    sent = []
    fake_http.answers[("PATCH", f"/api/v1/shops/{shop_id}")] = lambda body: (sent.append(body) or
                                                                             (200, shop(shop_id, version=8)))
    resp = manager.post(manager.url, data=form_data(page, subscriptions_enabled="off", allow_customer_skip="y",
                                                    invoices_enabled="y", order_reminder_hours_before_close="24",
                                                    retry_delays="12 48, 96",
                                                    late_placement="always", locale="fr", timezone="UTC"))
    assert resp.status_code == 303 and resp.headers["Location"] == manager.url
    assert sent == [{"subscriptions_enabled": False, "allow_order_changes": True, "allow_customer_skip": True,
                     "invoices_enabled": True, "attach_invoice_to_email": False,
                     "order_reminder_hours_before_close": 24, "late_placement": "always", "locale": "fr",
                     "timezone": "UTC", "payment_retry": {"delays_hours": [12, 48, 96], "max_attempts": 4}}]
    patch = next(r for r in fake_http.sent if r["method"] == "PATCH")
    assert patch["headers"]["If-Match"] == '"7"' and patch["headers"]["Authorization"] == "Bearer rop_manager"
    fake_http.answers[("GET", f"/api/v1/shops/{shop_id}")] = (200, shop(shop_id, locale="fr", version=8))
    assert "Les réglages sont enregistrés." in text_of(manager.get(manager.url).get_data(as_text=True))


def test_no_reminder_and_no_retry_are_sent_as_the_api_says_them(manager, fake_http, shop_id):
    page = manager.get(manager.url).get_data(as_text=True)
    sent = []
    fake_http.answers[("PATCH", f"/api/v1/shops/{shop_id}")] = lambda body: sent.append(body) or (200, shop(shop_id))
    manager.post(manager.url, data=form_data(page, retry_delays="", allow_order_changes=None))
    assert sent[0]["payment_retry"] == {"delays_hours": [], "max_attempts": 1}
    assert sent[0]["order_reminder_hours_before_close"] is None and sent[0]["allow_order_changes"] is False


def test_a_stale_form_says_so_shows_the_settings_as_they_are_now_and_saves_nothing(manager, fake_http, shop_id):
    page = manager.get(manager.url).get_data(as_text=True)
    now = shop(shop_id, subscriptions_enabled=False, locale="fr", version=8)
    fake_http.answers[("PATCH", f"/api/v1/shops/{shop_id}")] = (412, {"title": "Precondition Failed",
                                                                      "status": 412})
    fake_http.answers[("GET", f"/api/v1/shops/{shop_id}")] = (200, now)
    resp = manager.post(manager.url, data=form_data(page, retry_delays="1, 2"))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 412
    text = text_of(html)
    assert "Ces réglages ont été modifiés pendant que vous les changiez" in text
    data = form_data(html)
    assert data["subscriptions_enabled"] == "off" and data["version"] == "8" and data["retry_delays"] == "24, 72"


def test_the_apis_refusals_come_back_by_their_fields_in_the_managers_words(manager, fake_http, shop_id):
    page = manager.get(manager.url).get_data(as_text=True)
    fake_http.answers[("PATCH", f"/api/v1/shops/{shop_id}")] = (422, {
        "title": "Unprocessable Entity", "status": 422, "errors": {
            "payment_retry.delays_hours": ["Delays must increase."],
            "timezone": ["'Mars/Olympus' is not an IANA time zone (e.g. Europe/Paris)."],
            "order_reminder_hours_before_close": ["Must be greater than or equal to 1 and less than or equal to "
                                                  "168."]}})
    resp = manager.post(manager.url, data=form_data(page, retry_delays="72, 24"))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    retry = html.split('id="retry_delays-error"', 1)[1].split("</p>", 1)[0]
    assert "Each wait must be longer than the one before" in retry
    assert "Choose a time zone from the list" in html.split('id="timezone-error"', 1)[1].split("</p>", 1)[0]
    assert "Enter a number from 1 to 168." in html.split('id="order_reminder_hours_before_close-error"', 1)[1]
    assert '<a href="#retry_delays">' in html and "IANA" not in html
    assert 'value="72, 24"' in html  # what the manager typed is kept


@pytest.mark.parametrize("typed,message", [
    ("24h, 72", "Enter whole numbers of hours separated by commas, like 24, 72"),
    (", ".join(str(h) for h in range(1, 11)), "Enter 9 numbers or fewer"),
])
def test_a_retry_policy_that_is_not_numbers_is_refused_before_the_api_is_asked(manager, fake_http, typed, message):
    page = manager.get(manager.url).get_data(as_text=True)
    resp = manager.post(manager.url, data=form_data(page, retry_delays=typed))
    assert resp.status_code == 422 and message in resp.get_data(as_text=True)
    assert not [r for r in fake_http.sent if r["method"] == "PATCH"]


def test_a_french_shop_reads_its_settings_and_the_kill_switch_in_french(manager, fake_http, shop_id):
    fake_http.answers[("GET", f"/api/v1/shops/{shop_id}")] = (200, shop(shop_id, locale="fr",
                                                                       subscriptions_enabled=False))
    html = manager.get(manager.url).get_data(as_text=True)
    text = text_of(html)
    assert "<html lang=\"fr\">" in html and "Réglages" in text
    assert "Actuellement arrêtées" in text and "Ce que fait l'arrêt" in text
    assert "Settings" not in text and "What turning it off does" not in text


def test_a_customer_is_sent_to_the_managers_sign_in_and_the_api_is_not_asked(client, fake_http, shop_id):
    with client.session_transaction() as session:
        session.update(token="rop_c", role="customer", shop_ids=[shop_id], customer_id="c-1", signed_in_at=0)
    resp = client.get(f"/manage/shops/{shop_id}/settings")
    assert resp.status_code == 302 and "/manage/sign-in" in resp.headers["Location"]
    assert not fake_http.sent



def test_a_refusal_without_a_field_is_told_at_the_top_in_the_managers_words(manager, fake_http, shop_id):
    page = manager.get(manager.url).get_data(as_text=True)
    fake_http.answers[("PATCH", f"/api/v1/shops/{shop_id}")] = (403, {
        "title": "Forbidden", "status": 403, "type": "https://errors.example/problems/forbidden",
        "detail": "This token may not manage this shop."})
    resp = manager.post(manager.url, data=form_data(page))
    summary = resp.get_data(as_text=True).split('class="error-summary"', 1)[1].split("</div>", 1)[0]
    assert resp.status_code == 422 and "You are not allowed to do this." in summary
    assert "This token" not in resp.get_data(as_text=True)


def test_the_time_zones_are_asked_once_and_the_shops_own_zone_is_offered_even_if_the_list_lacks_it(
        manager, fake_http, shop_id):
    fake_http.answers[("GET", f"/api/v1/shops/{shop_id}")] = (200, shop(shop_id, timezone="Europe/Kyiv"))
    for _ in range(2):
        page = manager.get(manager.url).get_data(as_text=True)
    assert form_data(page)["timezone"] == "Europe/Kyiv"
    assert sum(1 for r in fake_http.sent if r["path"] == "/api/v1/time-zones") == 1


def test_a_form_without_the_version_it_showed_is_never_sent_and_shows_the_settings_as_they_are(manager, fake_http):
    page = manager.get(manager.url).get_data(as_text=True)
    resp = manager.post(manager.url, data=form_data(page, version="", subscriptions_enabled="off"))
    assert resp.status_code == 412 and form_data(resp.get_data(as_text=True))["subscriptions_enabled"] == "on"
    assert not [r for r in fake_http.sent if r["method"] == "PATCH"]


def test_the_shops_ways_to_deliver_and_to_pay_are_listed_and_one_is_added_in_the_managers_number_format(
        manager, fake_http, shop_id):
    fake_http.answers[("GET", f"/api/v1/shops/{shop_id}")] = (200, shop(shop_id, locale="fr"))
    page = manager.get(manager.url).get_data(as_text=True)
    text = text_of(page)
    assert "Home delivery" in text and "4,50" in text and "Aucun pour l'instant" in text
    sent = []
    fake_http.answers[("POST", f"/api/v1/shops/{shop_id}/payment-methods")] = lambda body: (sent.append(body) or
                                                                                            (201, {"id": "p"}))
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    resp = manager.post(f"{manager.url}/payment-methods", data={
        "payment-csrf_token": token, "payment-name": "Carte", "payment-kind": "stripe", "payment-fee": "0,30",
        "payment-percent": "1,5"})
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/settings#payment-methods")
    assert sent == [{"name": "Carte", "kind": "stripe", "fee_flat": 30, "fee_percent_bp": 150}]


def test_a_way_to_pay_refused_by_the_api_or_by_its_amount_is_told_by_the_field(manager, fake_http, shop_id):
    page = manager.get(manager.url).get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    resp = manager.post(f"{manager.url}/shipping-methods", data={
        "shipping-csrf_token": token, "shipping-name": "Van", "shipping-pickup": "delivery",
        "shipping-fee": "4.505"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "Enter an amount of 0 or more, like 4.50" in html.split(
        'id="shipping-fee-error"', 1)[1].split("</p>", 1)[0]
    fake_http.answers[("POST", f"/api/v1/shops/{shop_id}/shipping-methods")] = (422, {
        "title": "Unprocessable Entity", "status": 422, "errors": {"fee_flat": [
            "Must be greater than or equal to 0 and less than or equal to 100000000."]}})
    resp = manager.post(f"{manager.url}/shipping-methods", data={
        "shipping-csrf_token": token, "shipping-name": "Van", "shipping-pickup": "delivery",
        "shipping-fee": "9999999"})
    assert "Enter a number from 0 to 100000000." in resp.get_data(as_text=True).split(
        'id="shipping-fee-error"', 1)[1].split("</p>", 1)[0]


def test_removing_a_way_to_deliver_sends_the_version_shown(manager, fake_http, shop_id):
    page = manager.get(manager.url).get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    fake_http.answers[("DELETE", f"/api/v1/shops/{shop_id}/shipping-methods/{SHIP}")] = (204, None)
    resp = manager.post(f"{manager.url}/shipping-methods/{SHIP}/remove", data={"csrf_token": token, "version": "3"})
    assert resp.status_code == 303
    delete = next(r for r in fake_http.sent if r["method"] == "DELETE")
    assert delete["headers"]["If-Match"] == '"3"'
    assert "The method is removed." in text_of(manager.get(manager.url).get_data(as_text=True))


# -- tax ----------------------------------------------------------------------------------------------------------

FRENCH_TAX = {"prices_include_tax": True, "tax_rates": [{"category": "reduced", "rate_bp": 550},
                                                        {"category": "standard", "rate_bp": 2000}]}


def tax_data(page: str, **changes) -> dict:
    """What the browser sends for the tax form as shown (its rows), with ``changes``."""
    form = page.split('action="' + page.split('/settings/tax"', 1)[0].rsplit('action="', 1)[1] + '/settings/tax"',
                      1)[1].split("</form>", 1)[0]
    data = {name: unescape(value) for name, value in re.findall(r'name="(tax-[^"]+)"[^>]*value="([^"]*)"', form)}
    data.update({name: unescape(value) for value, name in
                 re.findall(r'value="([^"]*)"[^>]*name="(tax-rates-[^"]+)"', form)})
    data["tax-prices_include_tax"] = re.search(r'<input[^>]*checked[^>]*name="tax-prices_include_tax"[^>]*value="(\w+)"'
                                               r'|<input[^>]*name="tax-prices_include_tax"[^>]*value="(\w+)"[^>]*checked',
                                               form).group(0).split('value="')[1].split('"')[0]
    for name in re.findall(r'name="(tax-rates-\d+-\w+)"', form):
        data.setdefault(name, "")
    data.update(changes)
    return data


def test_the_shops_tax_rates_are_shown_as_percentages_in_the_managers_format_with_empty_rows_for_new_ones(
        manager, fake_http, shop_id):
    fake_http.answers[("GET", f"/api/v1/shops/{shop_id}")] = (200, shop(shop_id, locale="fr", **FRENCH_TAX))
    page = manager.get(manager.url).get_data(as_text=True)
    data = tax_data(page)
    assert data["tax-prices_include_tax"] == "include" and data["tax-version"] == "7"
    assert (data["tax-rates-0-category"], data["tax-rates-0-percent"]) == ("reduced", "5,5")
    assert (data["tax-rates-1-category"], data["tax-rates-1-percent"]) == ("standard", "20")
    assert data["tax-rates-2-category"] == data["tax-rates-3-percent"] == ""
    assert "Enregistrer les taux de TVA" in text_of(page)


def test_saving_the_tax_sends_the_rates_in_basis_points_with_the_version_shown(manager, fake_http, shop_id):
    fake_http.answers[("GET", f"/api/v1/shops/{shop_id}")] = (200, shop(shop_id, locale="fr", **FRENCH_TAX))
    page = manager.get(manager.url).get_data(as_text=True)
    sent = []
    fake_http.answers[("PATCH", f"/api/v1/shops/{shop_id}")] = lambda body: (sent.append(body) or
                                                                             (200, shop(shop_id, version=8)))
    resp = manager.post(f"{manager.url}/tax", data=tax_data(
        page, **{"tax-prices_include_tax": "exclude", "tax-rates-0-category": "", "tax-rates-0-percent": "",
                 "tax-rates-1-percent": "19,6", "tax-rates-2-category": "zero", "tax-rates-2-percent": "0 %"}))
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/settings#tax")
    assert sent == [{"prices_include_tax": False, "tax_rates": [{"category": "standard", "rate_bp": 1960},
                                                                {"category": "zero", "rate_bp": 0}]}]
    patch = next(r for r in fake_http.sent if r["method"] == "PATCH")
    assert patch["headers"]["If-Match"] == '"7"'
    assert "Les réglages de TVA sont enregistrés." in text_of(manager.get(manager.url).get_data(as_text=True))


def test_a_rate_that_is_not_a_percentage_or_a_category_twice_is_told_by_its_field_and_nothing_is_sent(
        manager, fake_http, shop_id):
    page = manager.get(manager.url).get_data(as_text=True)
    resp = manager.post(f"{manager.url}/tax", data=tax_data(
        page, **{"tax-rates-0-category": "reduced", "tax-rates-0-percent": "5,555",
                 "tax-rates-1-category": "reduced", "tax-rates-1-percent": "20"}))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and not [r for r in fake_http.sent if r["method"] == "PATCH"]
    assert "Enter a percentage from 0 to 100 with at most two decimals, like 5.5" in html.split(
        'id="tax-rates-0-percent-error"', 1)[1].split("</p>", 1)[0]
    assert "This category already has a rate" in html.split('id="tax-rates-1-category-error"', 1)[1].split("</p>")[0]
    assert '<a href="#tax-rates-0-percent">' in html and 'value="5,555"' in html  # typed, kept


def test_the_apis_refusal_of_a_rate_is_shown_by_the_row_it_names_in_the_managers_words(manager, fake_http, shop_id):
    fake_http.answers[("GET", f"/api/v1/shops/{shop_id}")] = (200, shop(shop_id, **FRENCH_TAX))
    page = manager.get(manager.url).get_data(as_text=True)
    fake_http.answers[("PATCH", f"/api/v1/shops/{shop_id}")] = (422, {
        "title": "Unprocessable Entity", "status": 422,
        "errors": {"tax_rates.1.category": ["Not a tax category."]}})
    resp = manager.post(f"{manager.url}/tax", data=tax_data(page, **{
        "tax-rates-0-category": "", "tax-rates-0-percent": "", "tax-rates-2-category": "zero",
        "tax-rates-2-percent": "0"}))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422  # the second row sent is the form's third: the first was emptied
    assert "Enter a category of small letters, digits, - or _" in html.split(
        'id="tax-rates-2-category-error"', 1)[1].split("</p>")[0]
    assert 'id="tax-rates-1-category-error"' not in html and "Not a tax category" not in html
    assert '<a href="#tax-rates-2-category">' in html


def test_a_stale_tax_form_says_so_and_shows_the_rates_as_they_are_now(manager, fake_http, shop_id):
    page = manager.get(manager.url).get_data(as_text=True)
    fake_http.answers[("PATCH", f"/api/v1/shops/{shop_id}")] = (412, {"title": "Precondition Failed",
                                                                      "status": 412})
    fake_http.answers[("GET", f"/api/v1/shops/{shop_id}")] = (200, shop(shop_id, version=9, **FRENCH_TAX))
    resp = manager.post(f"{manager.url}/tax", data=tax_data(page, **{"tax-rates-0-category": "zero",
                                                                     "tax-rates-0-percent": "0"}))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 412 and "The tax settings were changed while you were editing them" in text_of(html)
    data = tax_data(html)
    assert data["tax-version"] == "9" and data["tax-rates-0-category"] == "reduced"


def test_each_method_shows_its_tax_and_is_changed_with_its_tax_category_and_the_version_shown(
        manager, fake_http, shop_id):
    fake_http.answers[("GET", f"/api/v1/shops/{shop_id}")] = (200, shop(shop_id, locale="fr", **FRENCH_TAX))
    method = {"id": SHIP, "name": "Home delivery", "pickup": False, "fee_flat": 450, "fee_percent_bp": 150,
              "active": True, "version": 3, "tax_category": None}
    fake_http.answers[("GET", f"/api/v1/shops/{shop_id}/shipping-methods/{SHIP}")] = (200, method)
    assert "Non taxé" in text_of(manager.get(manager.url).get_data(as_text=True))
    page = manager.get(f"{manager.url}/shipping-methods/{SHIP}").get_data(as_text=True)
    assert 'value="4,50"' in page and 'value="1,5"' in page
    assert re.search(r'<option value="standard">standard \(20\s%\)</option>', page)
    sent = []
    fake_http.answers[("PATCH", f"/api/v1/shops/{shop_id}/shipping-methods/{SHIP}")] = lambda body: (
        sent.append(body) or (200, {**method, "tax_category": "standard", "version": 8}))
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    resp = manager.post(f"{manager.url}/shipping-methods/{SHIP}", data={
        "csrf_token": token, "version": "3", "name": "Home delivery", "pickup": "delivery", "fee": "4,50",
        "percent": "1,5", "tax_category": "standard", "active": "y"})
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/settings#shipping-methods")
    assert sent == [{"name": "Home delivery", "fee_flat": 450, "fee_percent_bp": 150, "pickup": False,
                     "tax_category": "standard", "active": True}]
    assert next(r for r in fake_http.sent if r["method"] == "PATCH")["headers"]["If-Match"] == '"3"'


def test_a_stale_method_form_shows_the_method_as_it_is_now_and_saves_nothing(manager, fake_http, shop_id):
    now = {"id": SHIP, "name": "Van", "pickup": False, "fee_flat": 500, "fee_percent_bp": 0, "active": True,
           "version": 9, "tax_category": "standard"}
    fake_http.answers[("GET", f"/api/v1/shops/{shop_id}")] = (200, shop(shop_id, **FRENCH_TAX))
    fake_http.answers[("GET", f"/api/v1/shops/{shop_id}/shipping-methods/{SHIP}")] = (200, now)
    fake_http.answers[("PATCH", f"/api/v1/shops/{shop_id}/shipping-methods/{SHIP}")] = (412, {
        "title": "Precondition Failed", "status": 412})
    page = manager.get(f"{manager.url}/shipping-methods/{SHIP}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    resp = manager.post(f"{manager.url}/shipping-methods/{SHIP}", data={
        "csrf_token": token, "version": "3", "name": "Home delivery", "pickup": "delivery", "fee": "4.50",
        "tax_category": ""})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 412 and "This method was changed while you were editing it" in text_of(html)
    assert 'value="Van"' in html and 'value="9"' in html
    assert re.search(r'<option[^>]*selected[^>]*value="standard"|<option[^>]*value="standard"[^>]*selected', html)


def test_a_methods_category_the_shop_has_no_rate_for_is_refused_by_its_field_in_the_managers_words(
        manager, fake_http, shop_id):
    fake_http.answers[("GET", f"/api/v1/shops/{shop_id}")] = (200, shop(shop_id, locale="fr", **FRENCH_TAX))
    method = {"id": SHIP, "name": "Van", "pickup": False, "fee_flat": 500, "fee_percent_bp": 0, "active": True,
              "version": 3, "tax_category": "luxe"}
    fake_http.answers[("GET", f"/api/v1/shops/{shop_id}/shipping-methods/{SHIP}")] = (200, method)
    fake_http.answers[("PATCH", f"/api/v1/shops/{shop_id}/shipping-methods/{SHIP}")] = (422, {
        "title": "Unprocessable Entity", "status": 422, "errors": {"tax_category": [
            "La Ruche has no tax rate for luxe: add it to the shop's tax rates first."]}})
    page = manager.get(f"{manager.url}/shipping-methods/{SHIP}").get_data(as_text=True)
    assert re.search(r'<option selected value="luxe">luxe \(pas de taux\)</option>', page)  # kept, said so
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    resp = manager.post(f"{manager.url}/shipping-methods/{SHIP}", data={
        "csrf_token": token, "version": "3", "name": "Van", "pickup": "delivery", "fee": "5,00",
        "tax_category": "luxe", "active": "y"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "La boutique n&#39;a pas de taux pour luxe" in html.split(
        'id="tax_category-error"', 1)[1].split("</p>", 1)[0]
    assert '<a href="#tax_category">' in html
