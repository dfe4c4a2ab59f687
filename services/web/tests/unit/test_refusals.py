"""The services' refusals in the reader's words (web_app.refusals), and where a person goes after signing in (only
a path of this app: no open redirect)."""

from __future__ import annotations

import html as htmllib
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from web_app.api import ApiError
from web_app.refusals import field_errors, field_message, kind_message, problem_message, slug

PROBLEMS = "https://docs.recurring-orders.example/problems/"


@pytest.fixture
def in_language(make_app):
    app = make_app()

    def read(locale, fn, *args):
        with app.test_request_context("/", headers={"Accept-Language": locale}):
            return fn(*args)

    return read


@pytest.mark.parametrize(("api", "english", "french"), [
    ("At most 4 available.", "Only 4 available: choose 4 or fewer.",
     "Seulement 4 disponibles : choisissez 4 ou moins."),
    ("At most 0 available.", "Out of stock: you cannot have more of this product.",
     "Rupture de stock : vous ne pouvez pas avoir plus de ce produit."),
    ("Cannot remove the final item from an order, please cancel the order instead.",
     "This is the last product of your order, so it cannot be removed. Cancel the order instead.",
     "C'est le dernier produit de votre commande : il ne peut pas être retiré. Annulez plutôt la commande."),
    ("Must be greater than or equal to 1 and less than or equal to 1000000.", "Enter a number from 1 to 1000000.",
     "Saisissez un nombre entre 1 et 1000000."),
    ("Longer than maximum length 254.", "Enter 254 characters or fewer.", "Saisissez 254 caractères au plus."),
    ("Not a valid email address.", "Enter an email address in the correct format, like name@example.com",
     "Saisissez une adresse e-mail au bon format, comme nom@exemple.fr"),
    ("Missing data for required field.", "This is required.", "Ce champ est obligatoire."),
    ("The card setup is not finished (status requires_action): the customer confirms it in their browser.",
     "Your card is not confirmed yet. Enter your card details and confirm with your bank if asked.",
     "Votre carte n'est pas encore confirmée. Saisissez les données de votre carte et confirmez auprès de votre "
     "banque si elle le demande."),
    ("Not a tax category (a-z, 0-9, _ and -, up to 40).",
     "Enter a category of small letters, digits, - or _ (40 at most), like reduced",
     "Saisissez une catégorie en lettres minuscules, chiffres, - ou _ (40 au plus), par exemple reduced"),
    ("standard already has a rate.", "This category already has a rate: each category has one",
     "Cette catégorie a déjà un taux : chaque catégorie en a un"),
    ("standard is the tax category of the method Van: change the method first.",
     "standard is the tax category of Van: give that method another category first, then remove this rate.",
     "standard est la catégorie de TVA de Van : donnez d'abord une autre catégorie à ce moyen, puis retirez ce "
     "taux."),
    ("La Ruche has no tax rate for luxe: add it to the shop's tax rates first.",
     "The shop has no rate for luxe: add it to the tax rates first.",
     "La boutique n'a pas de taux pour luxe : ajoutez-le d'abord aux taux de TVA."),
    ("Some message no table knows.", "This value is not accepted. Check it and try again.",
     "Cette valeur n'est pas acceptée. Vérifiez-la et réessayez."),
])
def test_each_field_message_of_the_services_reads_in_our_words_in_english_and_french(in_language, api, english,
                                                                                    french):
    assert in_language("en", field_message, api) == english
    assert in_language("fr", field_message, api) == french


@pytest.mark.parametrize(("kind", "status", "detail", "english", "french"), [
    ("order-closed", 409, "The order cycle closed at 2026-12-11 15:00 UTC: order R1 can no longer be changed.",
     "Orders for this delivery have closed: this order can no longer be changed.",
     "Les commandes pour cette livraison sont closes : cette commande ne peut plus être modifiée."),
    ("forbidden", 403, "This shop does not allow customers to change or cancel their orders; please contact the "
                       "shop.",
     "This shop does not let customers change or cancel their orders. Write to the shop to change this order.",
     "Cette boutique ne permet pas aux clients de modifier ou d'annuler leurs commandes. Écrivez à la boutique pour "
     "modifier cette commande."),
    ("forbidden", 403, "Something else.", "You are not allowed to do this. Write to the shop.",
     "Vous n'êtes pas autorisé à faire cela. Écrivez à la boutique."),
    ("order-not-editable", 409, "Order R1 is already cancelled.", "This order is already cancelled.",
     "Cette commande est déjà annulée."),
    ("stale-version", 412, 'You sent If-Match "3" but the current version is "4".',
     "This order changed since you opened the page: here it is as it is now. Check it and try again.",
     "Cette commande a changé depuis que vous avez ouvert la page : la voici telle qu'elle est maintenant. "
     "Vérifiez-la et réessayez."),
    ("rate-limited", 429, "", "Too many attempts. Wait a few minutes, then try again.",
     "Trop de tentatives. Attendez quelques minutes, puis réessayez."),
    ("", 409, "", "Something changed meanwhile. Reload the page, check it and try again.",
     "Quelque chose a changé entre-temps. Rechargez la page, vérifiez-la et réessayez."),
    ("", 418, "", "Sorry, this could not be done. Try again in a few minutes. Nothing was changed.",
     "Désolé, cela n'a pas pu être fait. Réessayez dans quelques minutes. Rien n'a été modifié."),
])
def test_a_refusal_without_field_errors_reads_by_its_known_detail_else_its_kind(in_language, kind, status, detail,
                                                                               english, french):
    err = ApiError(status, "English title", detail, {}, PROBLEMS + kind if kind else "about:blank")
    assert in_language("en", problem_message, err) == english
    assert in_language("fr", problem_message, err) == french


def test_the_kind_is_the_last_segment_of_the_type_and_a_field_error_of_another_status_reads_by_its_kind(
        in_language):
    err = ApiError(409, "t", "", {"card": ["No default card on file."], "x": ["unknown words"]},
                   PROBLEMS + "conflict")
    assert slug(err) == "conflict" and slug(ApiError(409)) == ""
    assert in_language("en", field_errors, err) == {
        "card": ["Save a card first."], "x": ["Something changed meanwhile. Reload the page, check it and try again."]}
    assert in_language("fr", kind_message, ApiError(503)) == ("Le système de la boutique est occupé. Réessayez dans "
                                                              "quelques minutes. Rien n'a été modifié.")


@pytest.mark.parametrize("going", [
    "https://evil.example/shops", "//evil.example/shops", "/\\evil.example", "\\\\evil.example", "/\t/evil.example",
    "javascript:alert(1)", "http:/evil.example", "evil.example",
])
def test_after_signing_in_a_person_goes_only_to_a_path_of_this_app_never_another_site(client, fake_http, csrf_of,
                                                                                     shop_id, going):
    fake_http.answers[("POST", "/api/v1/sign-in-links")] = (202, {"status": "on its way"})
    fake_http.answers[("POST", "/api/v1/sessions")] = (201, {"token": "rop_s", "role": "customer",
                                                             "shop_ids": [shop_id], "customer_id": "c1"})
    page = client.get(f"/shops/{shop_id}/sign-in", query_string={"next": going}).get_data(as_text=True)
    client.post(f"/shops/{shop_id}/sign-in", data={"csrf_token": csrf_of(page), "email": "ann@example.org",
                                                   "next": going})
    page = client.get("/sign-in/rsl_tok").get_data(as_text=True)
    resp = client.post("/sign-in/rsl_tok", data={"csrf_token": csrf_of(page)})
    assert resp.status_code == 303 and resp.headers["Location"] == f"/shops/{shop_id}/subscriptions"


def test_after_signing_in_a_person_goes_back_to_the_order_they_opened(client, fake_http, csrf_of, shop_id):
    going = f"/shops/{shop_id}/orders/7b0c3f2e-0000-4000-8000-000000000001"
    fake_http.answers[("POST", "/api/v1/sign-in-links")] = (202, {"status": "on its way"})
    fake_http.answers[("POST", "/api/v1/sessions")] = (201, {"token": "rop_s", "role": "customer",
                                                             "shop_ids": [shop_id], "customer_id": "c1"})
    asked = client.get(going).headers["Location"]
    page = client.get(asked).get_data(as_text=True)
    client.post(asked, data={"csrf_token": csrf_of(page), "email": "ann@example.org", "next": going})
    page = client.get("/sign-in/rsl_tok").get_data(as_text=True)
    resp = client.post("/sign-in/rsl_tok", data={"csrf_token": csrf_of(page)})
    assert resp.status_code == 303 and resp.headers["Location"] == going


def test_a_link_that_no_longer_works_asks_for_a_new_one_that_still_goes_to_the_order(client, fake_http, csrf_of,
                                                                                   shop_id):
    going = f"/shops/{shop_id}/orders/7b0c3f2e-0000-4000-8000-000000000001"
    fake_http.answers[("POST", "/api/v1/sign-in-links")] = (202, {"status": "on its way"})
    fake_http.answers[("POST", "/api/v1/sessions")] = (401, {"status": 401, "detail": "used or expired"})
    page = client.get(f"/shops/{shop_id}/sign-in", query_string={"next": going}).get_data(as_text=True)
    client.post(f"/shops/{shop_id}/sign-in", data={"csrf_token": csrf_of(page), "email": "ann@example.org",
                                                   "next": going})
    page = client.get("/sign-in/rsl_old").get_data(as_text=True)
    html = client.post("/sign-in/rsl_old", data={"csrf_token": csrf_of(page)}).get_data(as_text=True)
    new_link = re.search(r'<a href="([^"]+)">Ask for a new link</a>', html).group(1)
    assert parse_qs(urlsplit(htmllib.unescape(new_link)).query)["next"] == [going]
