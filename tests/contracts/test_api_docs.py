"""The four services' docs pages and OpenAPI documents, from their own apps (built without connecting anywhere):
the docs work in a closed network, every operation has its operationId, Stripe's webhook takes no bearer token;
and the HTML pages forbid framing and inline script."""

import re
from html.parser import HTMLParser

import pytest

from devstack.apidocs import openapi, service_app
from devstack.stack import SERVICES

PACKAGES = [svc.package for svc in SERVICES]


class Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts = 0
        self._script: dict[str, str | None] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script":
            self._script = attrs
        url = attrs.get("href") if tag == "link" else attrs.get("src") if tag in ("script", "img") else None
        if url:
            self.urls.append(url)

    def handle_data(self, data):
        if self._script is not None and data.strip() and "nonce" not in self._script:
            self.inline_scripts += 1

    def handle_endtag(self, tag):
        if tag == "script":
            self._script = None


def page(html: str) -> Page:
    parsed = Page()
    parsed.feed(html)
    return parsed


@pytest.mark.parametrize("package", PACKAGES)
def test_the_docs_page_references_only_same_origin_assets_and_they_are_served(package):
    expected = {"js": "text/javascript", "css": "text/css", "png": "image/png"}
    with service_app(package) as app:
        client = app.test_client()
        resp = client.get("/docs")
        assert resp.status_code == 200
        html = page(resp.get_data(as_text=True))
        assert html.inline_scripts == 0 and "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
        assert html.urls and all(re.match(r"^/[^/]", u) for u in html.urls), html.urls  # no scheme, no host
        for url in html.urls:
            asset = client.get(url)
            assert asset.status_code == 200, url
            assert asset.mimetype == expected[url.rsplit(".", 1)[1]], url


def test_every_operation_of_the_four_documents_has_a_unique_operation_id():
    seen: dict[str, str] = {}
    for package in PACKAGES:
        for path, item in openapi(package)["paths"].items():
            for method, op in item.items():
                if method == "parameters":
                    continue
                where = f"{package} {method.upper()} {path}"
                assert op.get("operationId"), f"{where} has no operationId"
                assert op["operationId"] not in seen, f"{where} and {seen.get(op['operationId'])} share it"
                seen[op["operationId"]] = where
    assert len(seen) > 70


def test_the_stripe_webhook_is_documented_without_bearer_auth_and_with_its_signature():
    spec = openapi("billing_service")
    op = spec["paths"]["/webhooks/stripe"]["post"]
    assert op["security"] == [] and spec["security"] == [{"bearerAuth": []}]
    [signature] = [p for p in op["parameters"] if p["in"] == "header"]
    assert signature["name"] == "Stripe-Signature" and signature["required"] is True
    others = [o for path, item in spec["paths"].items() if path != "/webhooks/stripe" for o in item.values()]
    assert others and all("security" not in o for o in others)  # the rest: bearer, the document's default


def test_billing_serves_no_page_its_old_3ds_links_are_refused_in_plain_text_or_sent_to_the_web_app():
    """The 3-D Secure page lives in the web app; billing keeps only the route of the links it emailed before."""
    with service_app("billing_service") as app:
        client = app.test_client()
        resp = client.get("/pay/00000000-0000-4000-8000-000000000000/authorize?t=forged")
        assert resp.status_code == 403 and resp.mimetype == "text/plain" and b"<script" not in resp.data
        assert client.get("/pay/static/pay.js").status_code == 404
