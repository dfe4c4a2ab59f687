"""platformctl's list reading: a shop another service has not heard of yet is an empty list, not a failure."""

import threading

import pytest
from flask import Flask, jsonify, request
from werkzeug.serving import make_server

from platformctl.api import ApiFailure, all_pages


@pytest.fixture
def order_service(monkeypatch):
    app = Flask("fake-order-service")
    pages = {"": {"items": [{"n": 1}], "next_cursor": "c2"}, "c2": {"items": [{"n": 2}], "next_cursor": None}}

    @app.get("/api/v1/shops/<shop>/orders")
    def orders(shop):
        if shop == "known":
            return jsonify(pages[request.args.get("cursor", "")])
        if shop == "second-page-gone" and request.args.get("cursor"):
            return jsonify(title="Not found"), 404
        if shop == "second-page-gone":
            return jsonify(pages[""])
        return jsonify(type="about:blank", title="Not found", status=404), 404

    server = make_server("127.0.0.1", 0, app)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("ORDER_SERVICE_URL", f"http://127.0.0.1:{server.server_port}")
    monkeypatch.setenv("ADMIN_TOKEN", "rop_test")
    yield
    server.shutdown()


def test_a_shop_the_service_has_not_heard_of_yet_reads_as_an_empty_list_when_the_caller_allows_it(order_service):
    assert all_pages("order-service", "/api/v1/shops/new/orders", parent_may_be_unknown=True) == []
    with pytest.raises(ApiFailure) as refused:
        all_pages("order-service", "/api/v1/shops/new/orders")
    assert refused.value.status == 404


def test_every_page_is_read_and_a_404_after_the_first_page_still_fails(order_service):
    assert all_pages("order-service", "/api/v1/shops/known/orders") == [{"n": 1}, {"n": 2}]
    with pytest.raises(ApiFailure):
        all_pages("order-service", "/api/v1/shops/second-page-gone/orders", parent_may_be_unknown=True)
