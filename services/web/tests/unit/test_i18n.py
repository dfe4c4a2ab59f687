"""French and English complete; the reader's language; money and dates as they read them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from web_app import i18n

WEB = Path(__file__).resolve().parents[2]
TRANSLATIONS = WEB / "src" / "web_app" / "translations"


def ids(path: Path) -> set[tuple[str | None, str]]:
    with path.open("rb") as f:
        return {(m.context, m.id) for m in read_po(f) if m.id}


def test_every_message_of_the_pages_is_in_the_template_and_translated_in_french_and_english(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg", "-k", "_l",
                    "-k", "lazy_gettext", "-k", "_lp:1c,2", "--no-location", "-o", str(pot), "."], cwd=WEB, check=True,
                   capture_output=True)
    assert ids(pot) == ids(TRANSLATIONS / "messages.pot"), "run `make translations` and translate what is new"
    for lang in ("fr", "en"):
        with (TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po").open("rb") as f:
            catalog = read_po(f)
        untranslated = [m.id for m in catalog if m.id and (not m.string or m.fuzzy)]
        assert not untranslated, f"{lang}: {untranslated}"
        assert {(m.context, m.id) for m in catalog if m.id} == ids(pot)


def test_the_customers_language_comes_first_then_the_shops_then_the_browsers(make_app):
    app = make_app()
    with app.test_request_context("/", headers={"Accept-Language": "fr"}):
        assert i18n.select_locale() == "fr"
        i18n.use_reader(customer={"locale": None}, shop={"locale": "en", "timezone": "Europe/Paris"})
        assert i18n.select_locale() == "en"
        i18n.use_reader(customer={"locale": "fr-BE"}, shop={"locale": "en"})
        assert i18n.select_locale() == "fr"
    with app.test_request_context("/", headers={"Accept-Language": "de, es"}):
        assert i18n.select_locale() == "en"  # the default when nothing names a language we have


def test_money_is_minor_units_in_the_readers_format(make_app):
    app = make_app()
    with app.test_request_context("/"):
        i18n.use_reader(customer={"locale": "fr"})
        assert i18n.money(123456, "EUR").replace("\u202f", " ").replace("\xa0", " ") == "1 234,56 €"
        assert i18n.money(500, "JPY").replace("\xa0", " ") == "500 JPY" or "500" in i18n.money(500, "JPY")
        i18n.use_reader(customer={"locale": "en"})
        assert i18n.money(1250, "EUR") == "€12.50"
        assert i18n.money(None, "EUR") == ""


def test_a_day_is_typed_and_read_in_the_readers_order_or_as_iso_and_a_day_that_is_not_real_is_refused(make_app):
    from datetime import date

    app = make_app()
    with app.test_request_context("/"):
        i18n.use_reader(customer={"locale": "fr"})
        assert i18n.typed_day(date(2027, 1, 5)) == "05/01/2027"
        assert i18n.read_day("05/01/2027") == i18n.read_day("5.1.27") == i18n.read_day("2027-01-05") == date(2027, 1,
                                                                                                               5)
        for bad in ("1/13/2027", "31/02/2027", "5 janvier", "05/01", ""):
            with pytest.raises(ValueError):
                i18n.read_day(bad)
        i18n.use_reader(customer={"locale": "en"})
        assert i18n.typed_day(date(2027, 1, 5)) == "01/05/2027"
        assert i18n.read_day("1/5/2027") == date(2027, 1, 5)
        with pytest.raises(ValueError):
            i18n.read_day("13/1/2027")


def test_times_are_shown_in_the_shops_time_zone(make_app):
    app = make_app()
    with app.test_request_context("/"):
        i18n.use_reader(customer={"locale": "en"}, shop={"timezone": "Pacific/Auckland"})
        assert i18n.when("2026-03-01T23:30:00+00:00") == "Mon, Mar 2, 2026, 12:30\u202fPM"
        i18n.use_reader(customer={"locale": "fr"}, shop={"timezone": "Pacific/Auckland"})
        assert i18n.when("2026-03-01T23:30:00+00:00") == "lun. 2 mars 2026, 12:30"
        i18n.use_reader(customer={"locale": "en"})
        assert "Monday" in i18n.day("2026-03-01T23:30:00+00:00")  # 2 March in Auckland


@pytest.mark.parametrize("locale,bp,shown", [
    ("en", 550, "5.5%"), ("en", 2000, "20%"), ("en", 0, "0%"), ("en", 1, "0.01%"), ("en", 10_000, "100%"),
    ("fr", 550, "5,5\u202f%"), ("fr", 2000, "20\u202f%"), ("fr", 1050, "10,5\u202f%"), ("fr", 0, "0\u202f%")])
def test_a_rate_in_basis_points_is_a_percentage_in_the_readers_format_with_its_own_decimals(make_app, locale, bp,
                                                                                                shown):
    with make_app().test_request_context("/"):
        i18n.use_reader(customer={"locale": locale})
        assert i18n.percent(bp).replace("\xa0", "\u202f") == shown
        assert i18n.percent(None) == ""


@pytest.mark.parametrize("typed,bp", [
    ("5,5", 550), ("5.5", 550), ("5.5 %", 550), ("5,5\u202f%", 550), ("20", 2000), (" 20% ", 2000), ("0", 0),
    ("0,01", 1), ("100", 10_000), ("19.60", 1960),
    ("", None), ("-5", None), ("5.555", None), ("100.01", None), ("1 000", None), ("cinq", None), ("5,5,5", None),
    (None, None)])
def test_a_typed_percentage_is_read_as_exact_basis_points_or_refused(make_app, typed, bp):
    with make_app().test_request_context("/"):
        i18n.use_reader(customer={"locale": "fr"})
        assert i18n.basis_points(typed) == bp


def test_a_rate_shown_then_typed_back_is_the_same_rate_in_both_languages(make_app):
    with make_app().test_request_context("/"):
        for locale in ("en", "fr"):
            i18n.use_reader(customer={"locale": locale})
            assert all(i18n.basis_points(i18n.percent(bp)) == bp for bp in (0, 1, 99, 550, 1960, 2000, 10_000))
