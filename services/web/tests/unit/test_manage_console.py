"""The console's foundation, from the API's answers: who may see a shop's pages (its managers; anyone else is sent
to the managers' sign-in or told the shop is not there), the shop picker, the nav of the pages that exist, and page
modules registered by their presence alone."""

from __future__ import annotations

import uuid

import pytest
from flask import Blueprint

from web_app import manage

OTHER_SHOP = str(uuid.uuid4())


def as_manager(client, *shop_ids: str, role: str = "manager") -> None:
    with client.session_transaction() as session:
        session.update(token="rop_manager", token_id=str(uuid.uuid4()), role=role, shop_ids=list(shop_ids),
                       customer_id="cust-1" if role == "customer" else None, signed_in_at=0)


def shop(shop_id: str, name: str = "La Ruche", locale: str = "en") -> dict:
    return {"id": shop_id, "name": name, "locale": locale, "timezone": "Europe/Paris", "currency": "EUR",
            "contact_email": "hub@example.org"}


CHECKS = ("subscriptions_enabled", "shipping_method", "payment_method", "customers", "schedule")


def readiness(*done: str) -> dict:
    return {"ready": set(done) == set(CHECKS), "checks": [{"name": n, "done": n in done} for n in CHECKS]}


def answer_shop(fake_http, shop_id: str, **kw) -> None:
    fake_http.answers[("GET", f"/api/v1/shops/{shop_id}")] = (200, shop(shop_id, **kw))
    fake_http.answers[("GET", f"/api/v1/shops/{shop_id}/readiness")] = (200, readiness("shipping_method"))


@pytest.fixture
def manager(client, fake_http, shop_id):
    as_manager(client, shop_id)
    answer_shop(fake_http, shop_id)
    return client


def test_a_shop_page_sends_a_visitor_who_is_not_signed_in_to_the_managers_sign_in_and_back(client, shop_id):
    resp = client.get(f"/manage/shops/{shop_id}")
    assert resp.status_code == 302
    assert resp.headers["Location"] == f"/manage/sign-in?next=/manage/shops/{shop_id}"


def test_a_shop_page_sends_a_signed_in_customer_to_the_managers_sign_in(client, fake_http, shop_id):
    as_manager(client, shop_id, role="customer")
    resp = client.get(f"/manage/shops/{shop_id}")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/manage/sign-in")
    assert not fake_http.sent


def test_a_manager_of_another_shop_is_told_the_shop_is_not_there(manager, fake_http):
    resp = manager.get(f"/manage/shops/{OTHER_SHOP}")
    assert resp.status_code == 404
    assert not fake_http.sent  # not even asked: the shop is not theirs to know of


def test_the_shop_home_is_read_with_the_managers_own_token_in_the_shops_language(manager, fake_http, shop_id):
    answer_shop(fake_http, shop_id, name="Les Paniers", locale="fr")
    page = manager.get(f"/manage/shops/{shop_id}").get_data(as_text=True)
    assert "<h1>Les Paniers</h1>" in page and '<html lang="fr">' in page
    assert fake_http.sent[0]["headers"]["Authorization"] == "Bearer rop_manager"


def test_the_nav_shows_only_the_pages_that_exist_and_marks_the_current_one(manager, shop_id):
    page = manager.get(f"/manage/shops/{shop_id}").get_data(as_text=True)
    row = page.split('class="console-nav__row"', 1)[1].split("</ul>", 1)[0]
    assert f'href="/manage/shops/{shop_id}" aria-current="page">Set-up</a>' in row
    for endpoint, label in manage.NAV:
        shown = f">{label}</a>" in row
        assert shown == (endpoint in manager.application.view_functions), endpoint


def test_a_page_module_is_registered_and_put_in_the_nav_by_defining_bp(make_app, fake_http, shop_id, monkeypatch,
                                                                           tmp_path):
    pkg = tmp_path / "pages"
    pkg.mkdir()
    # a page no helper builds (a real page module of the same name would shadow it)
    (pkg / "sample.py").write_text(
        "from flask import Blueprint\n"
        "from web_app.manage import shop_page\n"
        "bp = Blueprint('manage_sample', __name__, url_prefix='/manage/shops/<uuid:shop_id>/sample')\n"
        "@bp.get('')\n@shop_page\ndef index(shop_id):\n    return 'sample of ' + shop_id\n")
    (pkg / "helpers.py").write_text("X = 1\n")  # a module without bp is left alone
    monkeypatch.setattr(manage, "__path__", [*manage.__path__, str(pkg)])
    monkeypatch.setattr(manage, "NAV", [*manage.NAV, ("manage_sample.index", "Sample")])
    monkeypatch.syspath_prepend(str(tmp_path))
    app = make_app()
    assert isinstance(app.blueprints["manage_sample"], Blueprint)
    client = app.test_client()
    as_manager(client, shop_id)
    answer_shop(fake_http, shop_id)
    assert client.get(f"/manage/shops/{shop_id}/sample").get_data(as_text=True) == f"sample of {shop_id}"
    home = client.get(f"/manage/shops/{shop_id}").get_data(as_text=True)
    assert f'href="/manage/shops/{shop_id}/sample">Sample</a>' in home


def test_a_manager_of_one_shop_goes_straight_to_it(manager, shop_id):
    resp = manager.get("/manage")
    assert resp.status_code == 302 and resp.headers["Location"] == f"/manage/shops/{shop_id}"


def test_a_manager_of_several_shops_picks_one_of_their_shops(client, fake_http, shop_id):
    as_manager(client, shop_id, OTHER_SHOP)
    mine = [shop(shop_id, "Zinnia"), shop(OTHER_SHOP, "Abeille")]
    fake_http.answers[("GET", "/api/v1/shops")] = (200, {"items": mine, "next_cursor": None})
    page = client.get("/manage").get_data(as_text=True)
    assert page.index("Abeille") < page.index("Zinnia")
    assert f'href="/manage/shops/{OTHER_SHOP}">Abeille</a>' in page and f'href="/manage/shops/{shop_id}">Zinnia' in page
    assert fake_http.sent[0]["headers"]["Authorization"] == "Bearer rop_manager"


def test_the_shop_picker_sends_a_visitor_who_is_not_signed_in_to_the_managers_sign_in(client):
    resp = client.get("/manage")
    assert resp.status_code == 302 and resp.headers["Location"] == "/manage/sign-in?next=/manage"


def test_a_manager_whose_session_ended_at_the_api_signs_in_again_and_comes_back(manager, fake_http, shop_id):
    fake_http.answers[("GET", f"/api/v1/shops/{shop_id}")] = (401, {"title": "Unauthorized", "status": 401})
    resp = manager.get(f"/manage/shops/{shop_id}")
    assert resp.status_code == 302 and resp.headers["Location"] == f"/manage/sign-in?next=/manage/shops/{shop_id}"
    with manager.session_transaction() as session:
        assert "token" not in session


def test_a_manager_who_signs_out_is_sent_to_the_managers_sign_in(manager, fake_http, shop_id, csrf_of):
    token = csrf_of(manager.get(f"/manage/shops/{shop_id}").get_data(as_text=True))
    resp = manager.post("/sign-out", data={"csrf_token": token})
    assert resp.status_code == 303 and resp.headers["Location"] == "/manage/sign-in"


def test_the_managers_sign_in_page_speaks_french(client):
    page = client.get("/manage/sign-in", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert 'lang="fr"' in page and "<h1>Connectez-vous pour gérer votre boutique</h1>" in page


def test_the_shop_home_lists_each_set_up_step_done_or_to_do_linking_only_to_pages_that_exist(
        make_app, fake_http, shop_id, monkeypatch, tmp_path):
    pkg = tmp_path / "pages"
    pkg.mkdir()
    (pkg / "customers.py").write_text(
        "from flask import Blueprint\n"
        "bp = Blueprint('manage_customers', __name__, url_prefix='/manage/shops/<uuid:shop_id>/customers')\n"
        "@bp.get('')\ndef index(shop_id):\n    return 'customers'\n")
    monkeypatch.setattr(manage, "__path__", [*manage.__path__, str(pkg)])
    monkeypatch.syspath_prepend(str(tmp_path))
    app = make_app()
    app.view_functions.pop("manage_schedules.index", None)  # a page that does not exist (yet) is not linked
    client = app.test_client()
    as_manager(client, shop_id)
    answer_shop(fake_http, shop_id)
    page = client.get(f"/manage/shops/{shop_id}").get_data(as_text=True)
    items = {name: page.split(f'id="check-{name}"', 1)[1].split("</li>", 1)[0] for name in CHECKS}
    assert "To do" in items["customers"] and f'href="/manage/shops/{shop_id}/customers">Add your customers</a>' in \
        items["customers"]
    assert "Done" in items["shipping_method"] and "To do" not in items["shipping_method"]
    assert "href" not in items["schedule"] and "Create a schedule with upcoming order cycles" in items["schedule"]
    assert "Before your customers can subscribe" in page
    assert fake_http.sent[-1]["path"] == f"/api/v1/shops/{shop_id}/readiness"


def test_a_ready_shop_says_so_in_french(manager, fake_http, shop_id):
    answer_shop(fake_http, shop_id, locale="fr")
    fake_http.answers[("GET", f"/api/v1/shops/{shop_id}/readiness")] = (200, readiness(*CHECKS))
    page = manager.get(f"/manage/shops/{shop_id}").get_data(as_text=True)
    assert "Votre boutique est prête" in page and page.count("Fait") == len(CHECKS) and "À faire" not in page


def test_a_manager_asks_for_a_link_and_is_told_the_same_whoever_they_are(client, fake_http, csrf_of, shop_id):
    fake_http.answers[("POST", "/api/v1/manager-sign-in-links")] = (202, {"status": "on its way"})
    form = client.get(f"/manage/sign-in?next=/manage/shops/{shop_id}").get_data(as_text=True)
    resp = client.post("/manage/sign-in", data={"csrf_token": csrf_of(form), "email": "alex@example.org",
                                                "next": f"/manage/shops/{shop_id}"})
    assert resp.status_code == 303 and resp.headers["Location"] == "/manage/sign-in/sent?email=alex@example.org"
    assert fake_http.sent[-1]["json"] == {"email": "alex@example.org"}
    sent = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "If alex@example.org is the address of a shop's manager" in sent


def test_a_mistyped_address_is_shown_by_its_field_and_nothing_is_asked(client, fake_http, csrf_of):
    form = client.get("/manage/sign-in").get_data(as_text=True)
    resp = client.post("/manage/sign-in", data={"csrf_token": csrf_of(form), "email": "alex.example.org"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422 and 'href="#email"' in page and "like name@example.com" in page
    assert not fake_http.sent


def test_too_many_links_asked_for_says_to_wait(client, fake_http, csrf_of):
    fake_http.answers[("POST", "/api/v1/manager-sign-in-links")] = (429, {"title": "Too Many Requests"})
    form = client.get("/manage/sign-in").get_data(as_text=True)
    page = client.post("/manage/sign-in", data={"csrf_token": csrf_of(form), "email": "alex@example.org"}
                       ).get_data(as_text=True)
    assert "Too many sign-in links were asked for" in page


def test_the_emailed_link_signs_the_manager_in_on_the_button_only_and_brings_them_back(
        client, fake_http, csrf_of, shop_id):
    fake_http.answers[("POST", "/api/v1/manager-sign-in-links")] = (202, {"status": "on its way"})
    form = client.get(f"/manage/sign-in?next=/manage/shops/{shop_id}").get_data(as_text=True)
    client.post("/manage/sign-in", data={"csrf_token": csrf_of(form), "email": "alex@example.org",
                                         "next": f"/manage/shops/{shop_id}"})
    fake_http.answers[("POST", "/api/v1/sessions")] = (201, {
        "id": "tok-1", "token": "rop_manager_session", "role": "manager", "shop_ids": [shop_id, OTHER_SHOP],
        "customer_id": None, "obtained_by": "email_sign_in_link"})
    landing = client.get("/manage/sign-in/rsl_abc")
    assert landing.headers["Referrer-Policy"] == "no-referrer"
    assert not any(s["path"] == "/api/v1/sessions" for s in fake_http.sent)  # a link preview uses up nothing
    resp = client.post("/manage/sign-in/rsl_abc", data={"csrf_token": csrf_of(landing.get_data(as_text=True))})
    assert resp.status_code == 303 and resp.headers["Location"] == f"/manage/shops/{shop_id}"
    assert fake_http.sent[-1]["json"] == {"token": "rsl_abc"}
    with client.session_transaction() as session:
        assert session["role"] == "manager" and session["shop_ids"] == [shop_id, OTHER_SHOP]
        assert session["token"] == "rop_manager_session"


def test_a_used_or_expired_link_says_so_and_offers_a_new_one(client, fake_http, csrf_of):
    fake_http.answers[("POST", "/api/v1/sessions")] = (401, {"title": "Unauthorized", "status": 401})
    landing = client.get("/manage/sign-in/rsl_old").get_data(as_text=True)
    resp = client.post("/manage/sign-in/rsl_old", data={"csrf_token": csrf_of(landing)})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 401 and "This link no longer works" in page and 'href="/manage/sign-in"' in page
    with client.session_transaction() as session:
        assert "token" not in session


def test_a_managers_link_opened_on_the_customers_link_page_brings_them_to_their_console(client, fake_http, csrf_of,
                                                                                          shop_id):
    fake_http.answers[("POST", "/api/v1/sessions")] = (201, {"id": "tok-1", "token": "rop_m", "role": "manager",
                                                             "shop_ids": [shop_id], "customer_id": None})
    landing = client.get("/sign-in/rsl_abc").get_data(as_text=True)
    resp = client.post("/sign-in/rsl_abc", data={"csrf_token": csrf_of(landing)})
    assert resp.status_code == 303 and resp.headers["Location"] == "/manage"
