"""Pure helpers of servicekit: errors, cursors, rate limits, principals, secret masking."""

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import marshmallow as ma
import pytest
from flask import Flask, jsonify
from flask.json.provider import DefaultJSONProvider
from flask_smorest import Api

from servicekit.auth import Principal, new_token, token_hash
from servicekit.clock import FixedClock
from servicekit.config import ConfigError, Settings
from servicekit.logs import mask
from servicekit.web.app import OrjsonProvider, _RateLimiter
from servicekit.web.blueprint import Blueprint
from servicekit.web.http import decode_cursor, encode_cursor, page
from servicekit.web.problems import Unprocessable, flatten_errors


def test_nested_validation_messages_become_one_entry_per_field():
    messages = {"items": {0: {"quantity": ["Must be at least 1."]}}, "name": ["Missing data for required field."]}
    assert flatten_errors(messages) == {"items.0.quantity": ["Must be at least 1."],
                                        "name": ["Missing data for required field."]}


def test_a_cursor_round_trips_and_a_forged_one_is_a_422():
    assert decode_cursor(encode_cursor(["2026-01-01T00:00:00+00:00", "abc"])) == ["2026-01-01T00:00:00+00:00", "abc"]
    assert decode_cursor(None) is None
    with pytest.raises(Unprocessable):
        decode_cursor("not-a-cursor!!")


def test_a_page_cut_from_limit_plus_one_rows_says_whether_more_follow():
    rows = [{"id": i} for i in range(4)]
    assert page(rows, 3, lambda r: [r["id"]]) == {"items": rows[:3], "next_cursor": encode_cursor([2])}
    assert page(rows[:2], 3, lambda r: [r["id"]])["next_cursor"] is None


def test_the_rate_limiter_refuses_beyond_its_burst_and_says_how_long_to_wait():
    limiter = _RateLimiter(per_minute=60)
    allowed = sum(1 for _ in range(20) if limiter.take("t") == 0)
    assert allowed == 10  # burst capacity: max(60 // 6, 10)
    assert 0 < limiter.take("t") <= 1.0
    assert limiter.take("other-token") == 0


def test_principals_see_only_their_shops_and_customers_only_themselves():
    manager = Principal("manager", "t1", frozenset({"shop-a"}))
    customer = Principal("customer", "t2", frozenset({"shop-a"}), "cust-1")
    admin = Principal("admin", "t0")
    assert manager.manages("shop-a") and not manager.manages("shop-b")
    assert customer.can_see_shop("shop-a") and not customer.manages("shop-a")
    assert customer.is_customer_of("shop-a", "cust-1") and not customer.is_customer_of("shop-a", "cust-2")
    assert admin.manages("anything") and admin.can_see_shop("anything")


def test_tokens_are_random_and_only_their_hash_is_kept():
    a, b = new_token(), new_token()
    assert a != b and a.startswith("rop_") and len(a) > 40
    assert token_hash(a) != a and len(token_hash(a)) == 64


def test_secrets_are_masked_in_log_lines():
    line = "key sk_test_51Habc and whsec_abc123 and Bearer rop_abcdefghijklmnopqrstuvwxyz012345"
    assert "sk_test" not in mask(line) and "whsec_" not in mask(line) and "rop_" not in mask(line)


def test_the_test_clock_is_refused_in_production(monkeypatch):
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("TEST_CLOCK_URL", "postgresql://x/y")
    with pytest.raises(ConfigError):
        Settings.from_env("svc", 8000)


def test_a_fixed_clock_moves_only_when_told():
    clock = FixedClock(datetime(2026, 3, 29, 0, 59, tzinfo=UTC))
    before = clock.now()
    clock.advance(timedelta(minutes=2))
    assert clock.now() - before == timedelta(minutes=2)


def test_json_responses_keep_the_key_order_and_write_what_flasks_own_provider_writes():
    app = Flask("t")
    app.json = OrjsonProvider(app)
    when = datetime(2026, 11, 26, 14, 5, 9, tzinfo=UTC)
    body = {"zeta": 1, "alpha": {"b": [1, 2.5, None, True], "a": "é ✓"}, "when": when, "day": date(2026, 1, 2),
            "price": Decimal("1.10"), "id": uuid.UUID(int=7), 3: "int key", "money": 10**17}
    with app.app_context():
        raw = jsonify(body).get_data()
    assert raw.startswith(b'{"zeta":1,"alpha":{"b":[1,2.5,null,true],') and raw.endswith(b"\n")  # compact
    assert list(json.loads(raw)) == ["zeta", "alpha", "when", "day", "price", "id", "3", "money"]  # not sorted
    flask_default = Flask("d")
    flask_default.json = DefaultJSONProvider(flask_default)
    flask_default.json.sort_keys = False  # sorting fails on mixed keys (and was never meant: JSON_SORT_KEYS=False)
    with flask_default.app_context():
        assert json.loads(raw) == json.loads(jsonify(body).get_data())  # same values, dates as HTTP dates
    assert json.loads(raw)["when"] == "Thu, 26 Nov 2026 14:05:09 GMT"


def test_an_argument_schema_is_made_once_and_serves_every_request_and_thread():
    made = []

    class Item(ma.Schema):
        class Meta:
            unknown = ma.RAISE
        sku = ma.fields.String(required=True)

    class Body(ma.Schema):
        class Meta:
            unknown = ma.RAISE

        def __init__(self, *args, **kwargs):
            made.append(self)
            super().__init__(*args, **kwargs)

        items = ma.fields.List(ma.fields.Nested(Item), required=True)

    app = Flask("t")
    app.config.update(API_TITLE="t", API_VERSION="1", OPENAPI_VERSION="3.0.2")
    api = Api(app)
    blp = Blueprint("b", __name__)

    @blp.route("/things", methods=["POST"])
    @blp.arguments(Body)
    def things(body):
        return {"skus": [i["sku"] for i in body["items"]]}

    api.register_blueprint(blp)
    client = app.test_client()
    assert client.post("/things", json={"items": [{"sku": "a"}]}).get_json() == {"skus": ["a"]}
    before = len(made)
    bad = client.post("/things", json={"items": [{"sku": 1, "extra": 2}], "more": 3})
    assert bad.status_code == 422
    assert bad.get_json()["errors"]["json"] == {"items": {"0": {"sku": ["Not a valid string."],
                                                                "extra": ["Unknown field."]}},
                                                "more": ["Unknown field."]}
    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda n: client.post("/things", json={"items": [{"sku": str(n)}] * (n % 3 + 1)}),
                            range(64)))
    assert [r.get_json() for r in got] == [{"skus": [str(n)] * (n % 3 + 1)} for n in range(64)]
    assert len(made) == before  # none made per request (webargs made one for each request from the class)
