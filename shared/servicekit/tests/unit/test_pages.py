"""servicekit's HTML pages (headers every page gets, the docs page) and what the shared Blueprint documents.
No I/O: the app's pool is never opened."""

from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest
from flask import Response, jsonify
from psycopg_pool import ConnectionPool

from servicekit.clock import FixedClock
from servicekit.config import Settings
from servicekit.web.app import create_base_app, public
from servicekit.web.blueprint import Blueprint
from servicekit.web.pages import STRIPE_JS, allow


class Tags(HTMLParser):
    """The page's <script>, <link> and <img> tags, with the text inside each <script>."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.script_text: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "link", "img"):
            self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.script_text.append(data)


def parse(html: str) -> Tags:
    tags = Tags()
    tags.feed(html)
    return tags


def directives(policy: str) -> dict[str, list[str]]:
    return {d.split()[0]: d.split()[1:] for d in policy.split(";") if d.strip()}


@pytest.fixture
def app():
    settings = Settings(service_name="probe", database_url="postgresql://x@127.0.0.1:1/none",
                        kafka_bootstrap="127.0.0.1:1", topic_prefix="", admin_token=None, app_env="test",
                        test_clock_url=None, log_level="WARNING", public_base_url="http://x",
                        rate_limit_per_minute=600, max_body_bytes=2000)
    pool = ConnectionPool(settings.database_url, open=False)
    flask_app, api = create_base_app(settings, title="Probe API", description="probe", pool=pool,
                                     clock=FixedClock(datetime(2026, 5, 1, tzinfo=UTC)))

    @flask_app.get("/page")
    def page():
        return Response("<!doctype html><p>hello</p>", mimetype="text/html")

    @flask_app.get("/stripe-page")
    def stripe_page():
        allow(STRIPE_JS)
        return Response("<!doctype html><p>pay</p>", mimetype="text/html")

    blp = Blueprint("things", __name__, url_prefix="/api/v1")

    @blp.route("/things", methods=["GET"])
    def list_things():
        return jsonify(items=[])

    @blp.route("/hooks/in", methods=["POST"])
    @public
    def receive():
        return jsonify(received=True)

    @blp.route("/both", methods=["GET", "DELETE"])
    def both():
        return jsonify()

    api.register_blueprint(blp)
    return flask_app


def test_every_html_page_forbids_framing_and_any_script_not_served_by_the_app(app):
    resp = app.test_client().get("/page")
    policy = directives(resp.headers["Content-Security-Policy"])
    assert policy["frame-ancestors"] == ["'none'"] and resp.headers["X-Frame-Options"] == "DENY"
    assert policy["script-src"] == ["'self'"] and policy["default-src"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"] and policy["form-action"] == ["'self'"]
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    # a JSON answer is no page: no policy to carry
    assert "Content-Security-Policy" not in app.test_client().get("/healthz").headers


def test_a_page_may_allow_stripe_js_for_itself_but_never_inline_script_or_framing(app):
    policy = directives(app.test_client().get("/stripe-page").headers["Content-Security-Policy"])
    assert policy["script-src"] == ["'self'", "https://js.stripe.com", "https://*.js.stripe.com"]
    assert "https://hooks.stripe.com" in policy["frame-src"] and policy["frame-ancestors"] == ["'none'"]
    assert "js.stripe.com" not in app.test_client().get("/page").headers["Content-Security-Policy"]
    with app.test_request_context("/page"):
        for refused in ({"script-src": ["'unsafe-inline'"]}, {"script-src": ["'unsafe-eval'"]},
                        {"default-src": ["'unsafe-inline'"]}, {"frame-ancestors": ["https://example.com"]}):
            with pytest.raises(ValueError):
                allow(refused)


def test_the_docs_page_loads_only_same_origin_assets_that_the_app_serves_and_no_inline_script(app):
    client = app.test_client()
    page = client.get("/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert directives(page.headers["Content-Security-Policy"])["script-src"] == ["'self'"]
    tags = parse(page.get_data(as_text=True))
    assert not tags.script_text, "no inline script"
    urls = [a.get("src") or a.get("href") for _, a in tags.tags]
    assert len(urls) == 4 and all(u and u.startswith("/") and not u.startswith("//") for u in urls), urls
    served = {u: client.get(u) for u in urls}
    assert {u: r.status_code for u, r in served.items()} == dict.fromkeys(urls, 200)
    types = {u.rsplit(".", 1)[1]: r.mimetype for u, r in served.items()}
    assert types == {"css": "text/css", "png": "image/png", "js": "text/javascript"}
    assert b"SwaggerUIBundle" in served["/docs/initializer.js"].data
    assert b"/openapi.json" in page.data and client.get("/openapi.json").status_code == 200


def test_every_operation_gets_an_operation_id_from_its_endpoint_and_a_public_one_no_bearer(app):
    spec = app.test_client().get("/openapi.json").get_json()
    ops = {(path, method): op for path, item in spec["paths"].items() for method, op in item.items()}
    assert {k: op["operationId"] for k, op in ops.items()} == {
        ("/api/v1/things", "get"): "things.list_things",
        ("/api/v1/hooks/in", "post"): "things.receive",
        ("/api/v1/both", "get"): "things.both.get",
        ("/api/v1/both", "delete"): "things.both.delete",
    }
    assert ops[("/api/v1/hooks/in", "post")]["security"] == []
    assert "security" not in ops[("/api/v1/things", "get")]  # the document's default: bearer
    assert spec["security"] == [{"bearerAuth": []}]
