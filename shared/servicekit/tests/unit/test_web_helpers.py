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
from servicekit.web.cursors import BadCursor, signer_for
from servicekit.web.http import decode_cursor, encode_cursor, page
from servicekit.web.problems import flatten_errors


def test_nested_validation_messages_become_one_entry_per_field():
    messages = {"items": {0: {"quantity": ["Must be at least 1."]}}, "name": ["Missing data for required field."]}
    assert flatten_errors(messages) == {"items.0.quantity": ["Must be at least 1."],
                                        "name": ["Missing data for required field."]}


def cursor_app(secret: str | None = None, service: str = "svc") -> Flask:
    app = Flask("t")
    settings = Settings(service_name=service, database_url="", kafka_bootstrap="", topic_prefix="", admin_token=None,
                        app_env="test", test_clock_url=None, log_level="INFO", public_base_url="",
                        rate_limit_per_minute=60, max_body_bytes=1000, cursor_secret=secret)
    app.extensions["cursor_signer"] = signer_for(settings)
    for rule in ("/shops/<shop>/orders", "/shops/<shop>/payments"):
        app.add_url_rule(rule, rule, lambda **_: "")
    return app


def cursor_made(app: Flask, url: str, values: list) -> str:
    with app.test_request_context(url):
        return encode_cursor(values)


def decoded(app: Flask, url: str, raw: str | None, shape=("time", "text")):
    with app.test_request_context(url):
        return decode_cursor(raw, shape)


WHEN = datetime(2026, 1, 1, 8, 30, tzinfo=UTC)


def test_a_cursor_round_trips_typed_within_its_own_list():
    app = cursor_app()
    made = cursor_made(app, "/shops/a/orders?status=placed&limit=2", [WHEN, "o-1"])
    assert decoded(app, "/shops/a/orders?limit=5&status=placed", made) == [WHEN, "o-1"]  # limit is not the list
    assert decoded(app, "/shops/a/orders", None) is None
    assert decoded(app, "/shops/a/orders", cursor_made(app, "/shops/a/orders", [7]), ("int",)) == [7]


def signed(app: Flask, url: str, payload: object) -> str:
    """A cursor correctly signed with the app's key whose content is whatever a forger with the key chose."""
    with app.test_request_context(url):
        return app.extensions["cursor_signer"].dumps(payload)


def test_an_altered_made_up_or_wrong_shape_cursor_is_a_400_bad_cursor():
    app = cursor_app()
    url = "/shops/a/orders"
    good = cursor_made(app, url, [WHEN, "o-1"])
    with app.test_request_context(url):
        from servicekit.web.cursors import _list_identity
        me = _list_identity()
    tampered = [good[:-2] + ("AA" if not good.endswith("AA") else "BB"), "x" + good, good.replace(".", "", 1),
                "not-a-cursor!!", "WyJ4Il0", "e30", "bnVsbA"]
    # decodable but wrong: what the old unsigned cursors let anyone send (13 of these 17 were a 500 in order-service)
    shapes = [[], [WHEN.isoformat()], [WHEN.isoformat(), "o-1", "extra"], ["o-1", WHEN.isoformat()],
              [WHEN.isoformat(), 5], [5, "o-1"], [None, None], ["2026-13-45", "o-1"], ["2026-01-01T08:30:00", "o-1"],
              [True, "o-1"], [[1], {"a": 1}], {"placed_at": WHEN.isoformat()}, "just text", 42, None,
              [WHEN.isoformat(), ["o-1"]], [WHEN.isoformat(), "o-1", None]]
    assert len(shapes) == 17
    bad = tampered + [signed(app, url, [me, v]) for v in shapes] + [signed(app, url, "no list"),
                                                                    signed(app, url, [me])]
    for raw in bad:
        with pytest.raises(BadCursor) as refused:
            decoded(app, url, raw)
        assert refused.value.status == 400 and refused.value.slug == "bad-cursor" and "cursor" in refused.value.errors
    with pytest.raises(BadCursor):  # a route that expects another shape refuses it too
        decoded(app, url, good, ("int",))


def test_a_cursor_of_another_list_other_filters_another_service_or_key_is_a_400():
    app = cursor_app()
    made = cursor_made(app, "/shops/a/orders?status=placed", [WHEN, "o-1"])
    for url in ("/shops/b/orders?status=placed", "/shops/a/payments?status=placed", "/shops/a/orders",
                "/shops/a/orders?status=placed&status=empty", "/shops/a/orders?status=empty"):
        with pytest.raises(BadCursor):
            decoded(app, url, made)
    for other in (cursor_app(service="other-service"), cursor_app(secret="another key")):
        with pytest.raises(BadCursor):
            decoded(other, "/shops/a/orders?status=placed", made)


def test_production_refuses_the_development_cursor_secret(monkeypatch):
    monkeypatch.setenv("APP_ENV", "production")
    with pytest.raises(ConfigError, match="CURSOR_SECRET"):
        signer_for(Settings.from_env("svc", 8000))
    monkeypatch.setenv("CURSOR_SECRET", "a real one")
    assert signer_for(Settings.from_env("svc", 8000)) is not None


def test_a_page_cut_from_limit_plus_one_rows_says_whether_more_follow():
    app = cursor_app()
    rows = [{"id": i} for i in range(4)]
    with app.test_request_context("/shops/a/orders"):
        cut = page(rows, 3, lambda r: [r["id"]])
        assert cut["items"] == rows[:3] and decode_cursor(cut["next_cursor"], ("int",)) == [2]
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


# -- one rule for query parameters, problem types, 405 -------------------------------------------------------------


class ListArgs(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    status = ma.fields.List(ma.fields.String(validate=ma.validate.OneOf(["placed", "confirmed", "empty"])))
    customer_id = ma.fields.String()
    limit = ma.fields.Integer(load_default=50)


@pytest.fixture
def base_app():
    from psycopg_pool import ConnectionPool

    from servicekit.web.app import create_base_app

    settings = Settings(service_name="probe", database_url="", kafka_bootstrap="127.0.0.1:1", topic_prefix="",
                        admin_token=None, app_env="test", test_clock_url=None, log_level="WARNING",
                        public_base_url="http://x", rate_limit_per_minute=600, max_body_bytes=2000)
    pool = ConnectionPool("", open=False)  # these routes (outside /api/) never take a connection
    app, api = create_base_app(settings, title="Probe", description="probe", pool=pool,
                               clock=FixedClock(datetime(2026, 5, 1, tzinfo=UTC)))
    blp = Blueprint("things", __name__)

    @blp.route("/things", methods=["GET"])
    @blp.arguments(ListArgs, location="query")
    def list_things(args):
        return {"args": args}

    @blp.route("/things/<thing_id>", methods=["GET", "PUT"])
    def one_thing(thing_id):
        return {"id": thing_id}

    api.register_blueprint(blp)
    return app


def test_an_unknown_query_parameter_is_a_400_problem_naming_it(base_app):
    client = base_app.test_client()
    r = client.get("/things?status=placed&colour=red&Status=x")
    assert r.status_code == 400 and r.mimetype == "application/problem+json"
    assert r.json["type"].endswith("/unknown-query-parameter") and set(r.json["errors"]) == {"colour", "Status"}
    assert "colour" in r.json["detail"]
    r = client.get("/things/t1?expand=all")  # a route without query arguments takes none
    assert r.status_code == 400 and set(r.json["errors"]) == {"expand"}
    assert client.get("/things/t1").json == {"id": "t1"}
    assert client.get("/things?limit=x").status_code == 422  # a bad value of a known one stays a field error


def test_a_repeated_list_filter_means_any_of_its_values_and_any_other_repeat_is_a_400_naming_it(base_app):
    client = base_app.test_client()
    assert client.get("/things?status=placed&status=confirmed").json["args"]["status"] == ["placed", "confirmed"]
    for query, name in (("customer_id=a&customer_id=b", "customer_id"), ("limit=1&limit=2", "limit")):
        r = client.get(f"/things?{query}")
        assert r.status_code == 400 and r.json["type"].endswith("/repeated-query-parameter"), r.json
        assert set(r.json["errors"]) == {name} and name in r.json["detail"]


def test_the_query_rule_and_its_400_are_in_the_openapi_document(base_app):
    spec = base_app.test_client().get("/openapi.json").json
    assert "400" in spec["paths"]["/things"]["get"]["responses"]
    status = next(p for p in spec["paths"]["/things"]["get"]["parameters"] if p["name"] == "status")
    assert status["schema"]["type"] == "array"


def test_a_405_carries_allow_and_every_error_the_app_shapes_is_a_problem_with_one_type_per_kind(base_app):
    from servicekit.web.problems import PROBLEM_TYPES

    client = base_app.test_client()
    r = client.delete("/things/t1")
    assert r.status_code == 405 and r.mimetype == "application/problem+json"
    assert set(r.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "PUT"}
    assert r.json["type"].endswith("/method-not-allowed") and r.json["title"] == "Method not allowed"
    for resp, slug in ((r, "method-not-allowed"), (client.get("/nowhere"), "not-found"),
                       (client.put("/things/t1", data="x" * 5000, content_type="application/json"),
                        "payload-too-large")):
        assert resp.mimetype == "application/problem+json"
        assert resp.json["type"] == PROBLEM_TYPES[slug].uri and resp.json["title"] == PROBLEM_TYPES[slug].title


def test_every_problem_type_the_code_answers_is_in_the_one_table():
    import re
    from pathlib import Path

    from servicekit.web.problems import PROBLEM_TYPES, problem_type

    root = Path(__file__).resolve().parents[4]
    sources = list(root.glob("services/*/src/**/*.py")) + list(root.glob("shared/servicekit/src/**/*.py"))
    used = set()
    for f in sources:
        text = f.read_text()
        used |= set(re.findall(r'slug\s*=\s*"([a-z0-9-]+)"', text))
        used |= set(re.findall(r'slug\s*=\s*\d{3},\s*"[^"]*",\s*"([a-z0-9-]+)"', text))  # status, title, slug = ...
        used |= set(re.findall(r'\(\s*[\w.]+,\s*\d{3},\s*"[^"]*",\s*"([a-z0-9-]+)"\)', text))  # (Error, 409, t, slug)
        used |= set(re.findall(r'problem\(\s*\d{3},\s*"[^"]*",\s*"([a-z0-9-]+)"', text))  # billing's problem(...)
    assert {"not-found", "order-closed", "refund-refused", "bad-cursor", "stale-version"} <= used  # the scan works
    assert used - set(PROBLEM_TYPES) == set()
    assert all(problem_type(t.slug, t.status) is t for t in PROBLEM_TYPES.values())
    assert problem_type(None, 404) is PROBLEM_TYPES["not-found"]
    assert problem_type("order-closed", 404) is PROBLEM_TYPES["not-found"]  # a slug of another status is not used


def test_the_developers_guide_shows_the_table_of_problem_types_as_it_is():
    from pathlib import Path

    from servicekit.web.problems import problem_types_markdown

    guide = Path(__file__).resolve().parents[4] / "docs" / "DEVELOPING.md"
    assert problem_types_markdown() in guide.read_text()
