"""Signed authorisation links (no I/O)."""

from datetime import UTC, datetime, timedelta

import pytest

from billing_service.domain import links
from billing_service.service_layer.links import Links

KEY = b"k" * 32
T = datetime(2026, 4, 3, 15, 0, tzinfo=UTC)


def test_a_signed_link_names_its_payment_and_attempt():
    token = links.sign(KEY, "p-1", 2, T + timedelta(days=30))
    claim = links.verify(KEY, token, "p-1", T)
    assert (claim.payment_id, claim.attempt) == ("p-1", 2)


def test_a_link_for_another_payment_a_forged_or_a_damaged_one_is_refused():
    token = links.sign(KEY, "p-1", 1, T + timedelta(days=1))
    with pytest.raises(links.InvalidLink):
        links.verify(KEY, token, "p-2", T)
    with pytest.raises(links.InvalidLink):
        links.verify(b"another key", token, "p-1", T)
    _, _, mac = token.partition(".")
    forged_body = links.sign(KEY, "p-1", 7, T + timedelta(days=1)).partition(".")[0]
    with pytest.raises(links.InvalidLink):
        links.verify(KEY, f"{forged_body}.{mac}", "p-1", T)
    for garbage in ("", "abc", "a.b", token + "x", "!!.??"):
        with pytest.raises(links.InvalidLink):
            links.verify(KEY, garbage, "p-1", T)


def test_an_expired_link_is_refused():
    token = links.sign(KEY, "p-1", 1, T)
    with pytest.raises(links.InvalidLink, match="expired"):
        links.verify(KEY, token, "p-1", T)


def test_the_authorization_url_is_the_payments_page_in_the_web_app():
    maker = Links("https://billing.example/", KEY, timedelta(days=30), "https://shop.example/")
    url = maker.authorization_url("s-1", "p-1")
    assert url == "https://shop.example/shops/s-1/payments/p-1/authorize"
    assert "t=" not in url and repr(KEY) not in repr(maker)  # no token: the page is the signed-in customer's


def test_a_link_emailed_before_the_move_still_verifies():
    maker = Links("https://billing.example/", KEY, timedelta(days=30))
    token = links.sign(KEY, "p-1", 3, T + timedelta(days=30))
    assert maker.verify(token, "p-1", T + timedelta(days=29)).attempt == 3
