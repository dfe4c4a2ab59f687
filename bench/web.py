"""The ``web`` section: the customer's pages of the web app for a customer of a shop with N subscriptions, and the
managers' console pages of that shop (:func:`console_pages`).

The shop is the burst's seed (``pipeline.seed_world``: one customer made through the APIs, with a card, and N-1
clones published to Kafka), and the cycle's open places their orders, so the customer has a placed order, a card
and a subscription among N. The customer signs in as a person does (the emailed link, the button), then each page
reachable from their subscriptions page in two clicks is requested one after another on loopback: the response
time of a page is its server time plus a loopback round trip. The bytes of script and style a page loads are the
sum of the files its ``<script src>`` and stylesheet links name, as served (uncompressed), plus any inline ones.
"""

from __future__ import annotations

import argparse
import re
import statistics
import time
import uuid
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

from bench import pipeline
from bench.report import Report
from devstack.stack import Stack, web_installed
from devstack.testing import emailed_sign_in_token, last_message_id

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
NOT_A_PAGE = ("/sign-out", "/static/", "/sign-in")


class _Page(HTMLParser):
    """What a page links to (pages) and what it loads (scripts, stylesheets, inline script and style)."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.assets: list[str] = []
        self.inline_bytes = 0
        self._inline = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.links.append(a["href"] or "")
        elif tag == "script":
            if a.get("src"):
                self.assets.append(a["src"] or "")
            else:
                self._inline = True
        elif tag == "link" and "stylesheet" in (a.get("rel") or "").split() and a.get("href"):
            self.assets.append(a["href"] or "")
        elif tag == "style":
            self._inline = True

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._inline = False

    def handle_data(self, data: str) -> None:
        if self._inline:
            self.inline_bytes += len(data.encode())


def parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


def sign_in(http: requests.Session, web: str, smtp_api: str, shop_id: str, email: str) -> None:
    """As the person: ask for a link on the page, read it in the mailbox, press the button."""
    form = http.get(f"{web}/shops/{shop_id}/sign-in", timeout=30)
    before = last_message_id(smtp_api)
    http.post(f"{web}/shops/{shop_id}/sign-in", data={"email": email, "csrf_token": _csrf(form.text)},
              timeout=30).raise_for_status()
    token = emailed_sign_in_token(smtp_api, email, before)
    confirm = http.get(f"{web}/sign-in/{token}", timeout=30)
    http.post(f"{web}/sign-in/{token}", data={"csrf_token": _csrf(confirm.text)}, timeout=30).raise_for_status()


def _csrf(html: str) -> str:
    found = CSRF.search(html)
    if not found:
        raise AssertionError("the form has no CSRF token")
    return found.group(1)


def customer_pages(http: requests.Session, web: str, start: str, depth: int = 2) -> list[str]:
    """The web app's pages reachable from ``start`` in ``depth`` clicks (GET links only, same site)."""
    seen, frontier = [start], [start]
    for _ in range(depth):
        following: list[str] = []
        for path in frontier:
            r = http.get(web + path, timeout=30)
            if r.status_code != 200 or "text/html" not in r.headers.get("Content-Type", ""):
                continue
            for href in parse(r.text).links:
                url = urlsplit(urljoin(web + path, href))
                if url.netloc != urlsplit(web).netloc or url.path.startswith(NOT_A_PAGE):
                    continue
                target = url.path + (f"?{url.query}" if url.query else "")
                if target not in seen:
                    seen.append(target)
                    following.append(target)
        frontier = following
    return seen


def measure_page(http: requests.Session, web: str, path: str, requests_per_page: int) -> dict[str, Any]:
    for _ in range(5):  # warm the workers' connections to the APIs
        http.get(web + path, timeout=30)
    times: list[float] = []
    status = 0
    html = ""
    for _ in range(requests_per_page):
        started = time.perf_counter()
        r = http.get(web + path, timeout=30)
        times.append((time.perf_counter() - started) * 1000)
        status, html = r.status_code, r.text
    page = parse(html)
    asset_bytes = {a: len(http.get(urljoin(web + path, a), timeout=30).content) for a in dict.fromkeys(page.assets)}
    xs = sorted(times)
    return {"status": status, "p50_ms": round(statistics.median(xs), 1),
            "p95_ms": round(xs[min(len(xs) - 1, round(0.95 * (len(xs) - 1)))], 1),
            "script_and_style_bytes": sum(asset_bytes.values()) + page.inline_bytes, "assets": asset_bytes,
            "inline_bytes": page.inline_bytes, "html_bytes": len(html.encode())}


def _p95(times: list[float]) -> float:
    xs = sorted(times)
    return round(xs[min(len(xs) - 1, round(0.95 * (len(xs) - 1)))], 1)


def measure_get(http: requests.Session, url: str, n: int, headers: dict[str, str] | None = None
                ) -> dict[str, Any]:
    """``n`` GETs one after another after a warm-up; the whole body is read each time (a file: every byte)."""
    for _ in range(min(n, 3)):
        http.get(url, headers=headers, timeout=120).content  # noqa: B018 - read to the end
    times: list[float] = []
    size = status = 0
    for _ in range(n):
        started = time.perf_counter()
        r = http.get(url, headers=headers, timeout=120)
        size = len(r.content)
        times.append((time.perf_counter() - started) * 1000)
        status = r.status_code
    return {"status": status, "p50_ms": round(statistics.median(times), 1), "p95_ms": _p95(times),
            "max_ms": round(max(times), 1), "bytes": size, "requests": n}


def manager_cookie(stack: Stack, issued: dict[str, Any], shop_ids: list[str]) -> str:
    """The web app's session cookie of a signed-in manager, built as the app builds it (the browser tests'
    ``manager_session`` does the same)."""
    from web_app.config import LOCAL_SECRET_KEY
    from web_app.sessions import EncryptedCookie, fernet_for

    secret = stack.web_env().get("SECRET_KEY") or LOCAL_SECRET_KEY
    return EncryptedCookie(fernet_for(secret)).dumps({
        "_permanent": True, "token": issued["token"], "token_id": issued["id"], "role": "manager",
        "shop_ids": shop_ids, "customer_id": None, "signed_in_at": time.time()})


def console_reports(stack: Stack, report: Report, args: argparse.Namespace, world: dict[str, Any]) -> None:
    """The console's reports of the cycle of ``web_subscriptions`` orders: order-service's REST reports with a
    manager's token (the JSON pages and the whole files, read to their last byte), then the console's pages and
    the packing list file through the web app, as the signed-in manager."""
    shop = world["shop"]
    issued = shop.subs(stack.cfg.admin_token).post("/api/v1/tokens", {"role": "manager", "shop_ids": [shop.id],
                                                                       "label": "bench reports"})
    token = issued["token"]
    pipeline.wait(lambda: requests.get(f"{stack.service_url('order-service')}/api/v1/shops/{shop.id}/orders?limit=1",
                                       headers={"Authorization": f"Bearer {token}"}, timeout=30).status_code == 200,
                  60, "the manager's token at order-service", 0.5)
    base = f"{stack.service_url('order-service')}/api/v1/shops/{shop.id}/order-cycles/{world['cycle_id']}/reports"
    http = requests.Session()
    auth = {"Authorization": f"Bearer {token}"}
    load = pipeline.load()
    for name, path, n in (("packing list, a page of 50", "/packing-list?limit=50", args.web_requests),
                          ("product totals", "/product-totals", args.web_requests),
                          ("orders and payments, a page of 50", "/orders?limit=50", args.web_requests),
                          ("packing list CSV (whole cycle)", "/packing-list.csv", args.web_file_requests),
                          ("orders CSV (whole cycle)", "/orders.csv", args.web_file_requests)):
        m = measure_get(http, base + path, n, auth)
        report.detail(f"console report {name}", m)
        csv_file = path.endswith(".csv")
        report.add("web", f"REST report {name}: {'time' if csv_file else 'p95'}", m["p95_ms"], "ms",
                   target="< 2000 ms" if csv_file else "< 200 ms",
                   note=f"p50 {m['p50_ms']} ms, max {m['max_ms']} ms, HTTP {m['status']}, {m['bytes']:,} B, "
                        f"{n} requests one after another, {world['subscriptions']:,} orders, load {load}")
    web = requests.Session()
    web.cookies.set("session", manager_cookie(stack, issued, [shop.id]))
    pages = f"{stack.web_url}/manage/shops/{shop.id}/reports"
    load = pipeline.load()
    for name, path, n in (("reports", "", args.web_requests),
                          ("packing list", f"/{world['cycle_id']}/packing-list", args.web_requests),
                          ("products and producers", f"/{world['cycle_id']}/product-totals", args.web_requests),
                          ("orders and payments", f"/{world['cycle_id']}/orders", args.web_requests),
                          ("packing list CSV download", f"/{world['cycle_id']}/packing-list.csv",
                           args.web_file_requests)):
        m = measure_get(web, pages + path, n)
        report.detail(f"console page {name}", m)
        csv_file = path.endswith(".csv")
        report.add("web", f"console {name}: {'time' if csv_file else 'p95'}", m["p95_ms"], "ms",
                   target="< 2000 ms" if csv_file else "< 200 ms",
                   note=f"p50 {m['p50_ms']} ms, max {m['max_ms']} ms, HTTP {m['status']}, {m['bytes']:,} B, "
                        f"{n} requests one after another, {world['subscriptions']:,} orders, load {load}")


def run_web(stack: Stack, report: Report, args: argparse.Namespace) -> None:
    if not web_installed():
        report.add("web", "SKIPPED", "web app not installed")
        return
    platform = pipeline.start_platform(stack)
    stack.start_web()
    print(f"   seeding a shop of {args.web_subscriptions:,} subscriptions ...", flush=True)
    world = pipeline.seed_world(stack, platform, args.web_subscriptions)
    shop = world["shop"]
    customer = world["customer"]  # the one made through the APIs, with a card and the permission to charge it
    pipeline._advance(platform, world["opens_at"] + timedelta(minutes=1))
    pipeline.wait(lambda: pipeline.scalar(stack.db_url("orders"), "SELECT count(*) FROM orders WHERE shop_id = %s",
                                          [shop.id]) >= args.web_subscriptions, 600, "the shop's orders placed", 1.0)
    pipeline.wait(lambda: pipeline.total_lag(stack.bootstrap) == 0, 600, "every consumer group to catch up", 1.0)
    parts = {p.strip() for p in args.web_parts.split(",")}
    if "reports" in parts:
        console_reports(stack, report, args, world)
    if "console" in parts:
        console_pages(stack, report, args, world)
    if "customer" not in parts:
        return
    web = stack.web_url
    http = requests.Session()
    assert platform.smtp_api, "the customer signs in by email"
    sign_in(http, web, platform.smtp_api, shop.id, customer.email)
    pages = customer_pages(http, web, f"/shops/{shop.id}/subscriptions")
    report.detail("web pages", pages)
    load_before = pipeline.load()
    for path in pages:
        m = measure_page(http, web, path, args.web_requests)
        name = path.replace(shop.id, "{shop}").replace(customer.id, "{customer}")
        name = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "{id}", name)
        report.detail(f"web {name}", m)
        report.add("web", f"{name}: p95", m["p95_ms"], "ms", target="< 150 ms",
                   note=f"p50 {m['p50_ms']} ms, HTTP {m['status']}, {args.web_requests} requests one after "
                        f"another, load {load_before}")
        report.add("web", f"{name}: script and style", round(m["script_and_style_bytes"] / 1024, 1), "KB",
                   target="< 100 KB", note=", ".join(f"{a} {b:,} B" for a, b in m["assets"].items()) or "none")


# -- the managers' console ---------------------------------------------------------------------------------------

LISTS_TARGET = "< 200 ms"


def console_page_list(world: dict[str, Any], n: int) -> list[tuple[str, str, dict[str, Any], str]]:
    """(name, endpoint, query, target) of the console pages measured: the subscriptions list and its search (by a
    name every subscription's customer has, by one customer's address), the orders of the cycle (all, then the
    placed ones), the settings. A page whose endpoint the app lacks is skipped."""
    last_name = world["customer"].data["last_name"]  # the seed's clones keep the template customer's name
    one_email = f"bench-{n // 2}@example.org" if n > 1 else world["customer"].email
    cycle = world["cycle_id"]
    return [
        ("subscriptions list", "manage_subscriptions.index", {}, LISTS_TARGET),
        (f"subscriptions search ?q= (all {n:,} match)", "manage_subscriptions.index", {"q": last_name},
         LISTS_TARGET),
        ("subscriptions search ?q= (one matches)", "manage_subscriptions.index", {"q": one_email}, LISTS_TARGET),
        ("orders of the cycle", "manage_orders.index", {"cycle": cycle}, LISTS_TARGET),
        ("orders of the cycle, placed", "manage_orders.index", {"cycle": cycle, "state": "placed"}, LISTS_TARGET),
        ("settings", "manage_settings.index", {}, ""),
    ]


def console_paths(web: str, shop_id: str, pages: list[tuple[str, str, dict[str, Any], str]]
                  ) -> dict[str, str | None]:
    """Each page's path as the web app itself builds it (``url_for`` of an app made in this process), None when the
    app has no such endpoint (a page not built yet)."""
    from flask import url_for

    from web_app.app import create_app
    from web_app.config import SERVICES, WebSettings

    app = create_app(WebSettings(service_urls={name: "http://127.0.0.1:9" for name in SERVICES}, public_url=web,
                                 secret_key="bench-" + "x" * 40, cookie_secure=False))
    with app.test_request_context():
        return {name: url_for(endpoint, shop_id=shop_id, **query) if endpoint in app.view_functions else None
                for name, endpoint, query, _target in pages}


def manager_signs_in(stack: Stack, http: requests.Session, shop: Any) -> None:
    """A manager of the shop signed in in ``http`` as a person does: the platform admin adds their address to the
    shop's managers, they ask for a link on the console's sign-in page, read it in the mailbox, press the button."""
    web, smtp_api = stack.web_url, stack.smtp.api_url
    email = f"bench-manager-{uuid.uuid4().hex[:8]}@example.org"
    shop.subs(stack.cfg.admin_token).post(f"/api/v1/shops/{shop.id}/managers", {"email": email})
    form = http.get(f"{web}/manage/sign-in", timeout=30)
    before = last_message_id(smtp_api)
    http.post(f"{web}/manage/sign-in", data={"email": email, "csrf_token": _csrf(form.text)},
              timeout=30).raise_for_status()
    token = emailed_sign_in_token(smtp_api, email, before)
    confirm = http.get(f"{web}/manage/sign-in/{token}", timeout=30)
    http.post(f"{web}/manage/sign-in/{token}", data={"csrf_token": _csrf(confirm.text)}, timeout=30).raise_for_status()


def console_pages(stack: Stack, report: Report, args: argparse.Namespace, world: dict[str, Any]) -> None:
    """The console's pages of the shop of ``web_subscriptions`` subscriptions whose cycle holds as many orders,
    as a manager signed in by the emailed link, each requested ``web_requests`` times one after another on
    loopback (server time plus a loopback round trip). A page the app does not have yet is skipped with a printed
    line."""
    shop, web, n = world["shop"], stack.web_url, world["subscriptions"]
    pages = console_page_list(world, n)
    paths = console_paths(web, shop.id, pages)
    for name, path in paths.items():
        if path is None:
            print(f"   console page {name}: skipped, no such page in the web app yet", flush=True)
            report.detail(f"web console {name}", "skipped: no such page in the web app yet")
    present = [(name, paths[name], target) for name, _e, _q, target in pages if paths[name]]
    if not present:
        return
    http = requests.Session()
    manager_signs_in(stack, http, shop)
    first = web + str(present[0][1])
    pipeline.wait(lambda: http.get(first, allow_redirects=False, timeout=30).status_code == 200, 60,
                  "the manager's session to open the console", 0.5)  # the token reaches every service by Kafka
    load_before = pipeline.load()
    for name, path, target in present:
        landed = http.get(web + str(path), allow_redirects=False, timeout=60)
        if landed.status_code != 200:
            raise AssertionError(f"console page {name} ({path}) answered {landed.status_code}, not the page")
        m = measure_page(http, web, str(path), args.web_requests)
        report.detail(f"web console {name}", {**m, "path": str(path).replace(shop.id, "{shop}")})
        report.add("web", f"console {name}: p95", m["p95_ms"], "ms", target=target,
                   note=f"p50 {m['p50_ms']} ms, HTTP {m['status']}, {m['html_bytes']:,} B of HTML, "
                        f"{args.web_requests} requests one after another, {n:,} subscriptions and orders, "
                        f"load {load_before}")
