"""Browser tests: Debian's Chromium driven by Playwright for Python (never a downloaded browser) against the real
stack: the four services as processes on PostgreSQL, Kafka, localstripe and the SMTP sink (the devstack fixtures),
and the web app under gunicorn. Every page visited is checked with axe-core (npm, pinned in services/web/
package.json) and photographed at 375 px wide under test-output/web/ (git-ignored)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from devstack.scenario import ApiError, Platform
from devstack.stack import repo_root
from devstack.testing import emailed_sign_in_token, last_message_id, wait_for

CHROMIUM = Path("/usr/bin/chromium")
WEB = Path(__file__).resolve().parents[2]
AXE = WEB / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = repo_root() / "test-output" / "web"
PHONE = {"width": 375, "height": 812}


@dataclass
class WebSystem:
    stack: Any
    platform: Platform

    @property
    def url(self) -> str:
        return self.stack.web_url

    @property
    def smtp_api(self) -> str:
        return self.stack.smtp.api_url


@pytest.fixture(scope="session")
def web_system(infra) -> Iterator[WebSystem]:
    stack = infra.stack
    stack.migrate()
    stack.start_services()
    stack.start_web()
    try:
        yield WebSystem(stack, Platform.from_stack(stack))
    finally:
        stack.stop_web()


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail("Debian's Chromium is missing: apt-get install -y chromium (.ci/run does)")
    if not AXE.exists():
        pytest.fail("axe-core is missing: make bootstrap (npm ci in services/web)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Visit:
    """A phone-sized browser tab that checks each page it is shown (axe-core, no CSP violation, a screenshot)."""

    page: Any
    name: str
    csp_violations: list[str] = field(default_factory=list)
    shots: list[Path] = field(default_factory=list)

    def check(self, label: str) -> list[dict[str, Any]]:
        """axe-core on the page as it is now; fails on a serious or critical violation. Saves a screenshot."""
        self.page.wait_for_load_state("load")
        if not self.page.evaluate("() => typeof window.axe !== 'undefined'"):
            self.page.evaluate(AXE.read_text())  # through DevTools: the page's own CSP allows no such script
        result = self.page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
                                    ".map(v => ({id: v.id, impact: v.impact, help: v.help, "
                                    "nodes: v.nodes.map(n => n.target.join(' '))}))")
        SHOTS.mkdir(parents=True, exist_ok=True)
        shot = SHOTS / f"{self.name}--{len(self.shots) + 1:02d}-{re.sub(r'[^a-z0-9]+', '-', label.lower())}.png"
        self.page.screenshot(path=str(shot), full_page=True)
        self.shots.append(shot)
        bad = [v for v in result if v["impact"] in ("serious", "critical")]
        assert not bad, f"{label} ({self.page.url}): accessibility violations {bad}"
        width = self.page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{label}: the page is {width}px wide on a {PHONE['width']}px phone"
        assert not self.csp_violations, f"{label}: {self.csp_violations}"
        return result


@pytest.fixture
def visit(chromium, request) -> Iterator[Visit]:
    context = chromium.new_context(viewport=PHONE, locale="en-GB")
    page = context.new_page()
    v = Visit(page, re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-"))
    page.on("console", lambda msg: v.csp_violations.append(msg.text)
            if "Content Security Policy" in msg.text else None)
    try:
        yield v
    finally:
        context.close()


@dataclass
class Manager:
    """A manager signed in in the ``visit`` tab: ``email`` (the address they sign in with), ``shop_ids`` (the
    shops they manage), ``page`` (the tab)."""

    email: str
    shop_ids: tuple[str, ...]
    page: Any


def sign_in_as_manager(web_system, page: Any, email: str, check: Any = None) -> None:
    """What a manager does: ask for a link on the console's sign-in page, open the link emailed to them (read from
    the SMTP sink), press the button. ``check(label)``: called on each page on the way (axe-core, screenshot)."""
    page.goto(f"{web_system.url}/manage/sign-in")
    before = last_message_id(web_system.smtp_api)
    page.locator("#email").fill(email)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    if check:
        check("manager sign-in link sent")
    page.goto(f"{web_system.url}/manage/sign-in/{emailed_sign_in_token(web_system.smtp_api, email.lower(), before)}")
    if check:
        check("manager sign-in link opened")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()


@pytest.fixture
def sign_in_manager(web_system) -> Any:
    """``sign_in_manager(page, email, check=None)``: :func:`sign_in_as_manager` for test modules."""
    return lambda page, email, check=None: sign_in_as_manager(web_system, page, email, check)


@pytest.fixture
def manager_session(web_system, visit) -> Any:
    """``manager_session(*shops)`` makes a new address a manager of those shops (devstack ``Shop``s or their ids,
    through the API as the platform admin) and signs the ``visit`` tab in with it through the real emailed link;
    returns the :class:`Manager`, whose tab then shows ``/manage`` (the shop's home for a manager of one shop)."""

    def sign_in(*shops: Any) -> Manager:
        shop_ids = tuple(s if isinstance(s, str) else s.id for s in shops)
        email = f"manager-{uuid.uuid4().hex[:8]}@example.org"
        for shop_id in shop_ids:
            web_system.platform.admin.post(f"/api/v1/shops/{shop_id}/managers", {"email": email})
        sign_in_as_manager(web_system, visit.page, email)
        return Manager(email, shop_ids, visit.page)

    return sign_in


def sign_in_as_customer(web_system, page: Any, email: str, url: str) -> None:
    """What a customer does on a page of theirs: open ``url`` (it sends them to the shop's sign-in), ask for a link,
    open the link emailed to them (read from the SMTP sink), press the button: back on ``url``, signed in."""
    page.goto(url)
    assert "/sign-in" in page.url
    before = last_message_id(web_system.smtp_api)
    page.locator("#email").fill(email)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    page.goto(f"{web_system.url}/sign-in/{emailed_sign_in_token(web_system.smtp_api, email, before)}")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    assert page.url == url


@pytest.fixture
def sign_in_customer(web_system, visit) -> Any:
    """``sign_in_customer(customer, path)``: :func:`sign_in_as_customer` in the ``visit`` tab, from the web app's
    ``path`` (a devstack ``Customer``); returns the tab, showing that page."""

    def sign_in(customer: Any, path: str) -> Any:
        sign_in_as_customer(web_system, visit.page, customer.email, f"{web_system.url}{path}")
        return visit.page

    return sign_in


def subscribe_once_the_catalog_arrived(shop: Any, customer: Any, schedule_id: str, ship_id: str, pay_id: str,
                                       items: dict[str, int], begins_at: datetime) -> dict[str, Any]:
    """The manager subscribes the customer, waiting for the catalog (it reaches subscription-service through Kafka)."""

    def attempt() -> dict[str, Any] | None:
        try:
            return shop.subscribe(customer, schedule_id, ship_id, pay_id, items, begins_at=begins_at)
        except ApiError as exc:
            if " -> 422 " in str(exc) and "available" in str(exc):
                return None
            raise

    return wait_for(attempt, 30, "the catalog to reach subscription-service")  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def subscribe() -> Any:
    """``subscribe_once_the_catalog_arrived``."""
    return subscribe_once_the_catalog_arrived


@pytest.fixture(scope="session")
def card_subscriber(web_system) -> Any:
    """``card_subscriber(card, locale=, customer_locale=, shipping=, now=, **settings)``: a shop (``settings``: the
    shop's own, e.g. invoices) selling a vegetable box and eggs, whose customer saved ``card`` and allows charges,
    subscribed by card to one cycle opening in an hour and closing in two days (from the test clock's ``now``).
    Returns ``{"shop", "customer", "cycle", "subscription"}``; :func:`through_the_cycle` then runs that cycle."""

    def make(card: str, *, locale: str = "en", customer_locale: str | None = None, shipping: str = "Home delivery",
             now: datetime | None = None, **settings: Any) -> dict[str, Any]:
        p = web_system.platform
        shop = p.create_shop(name=f"Hub {uuid.uuid4().hex[:4]}", locale=locale, timezone="Europe/Paris", **settings)
        ship = shop.shipping_method(shipping, fee_flat=500)
        pay = shop.payment_method("stripe")
        shop.variant("box", "Panier de légumes", 2000, on_hand=100)
        shop.variant("eggs", "Œufs x6", 350, on_hand=100)
        now = now or p.now()
        cycle = shop.order_cycle("Semaine 1", now + timedelta(hours=1), now + timedelta(days=2))
        schedule = shop.schedule("Panier hebdo", [cycle["id"]])
        customer = shop.customer("Ann", "Martin", card=card, locale=customer_locale)
        sub = subscribe_once_the_catalog_arrived(shop, customer, schedule["id"], ship["id"], pay["id"],
                                                 {"box": 1, "eggs": 2}, now)
        return {"shop": shop, "customer": customer, "cycle": cycle, "subscription": sub}

    return make


@pytest.fixture(scope="session")
def through_the_cycle(web_system) -> Any:
    """``through_the_cycle(*worlds)``: the test clock past the open of the first world's cycle (each world's order
    placed in its own cycle, opening at the same time), then past its close: the orders are confirmed and charged.
    Returns each world's order as placed."""

    def run(*worlds: dict[str, Any]) -> list[dict[str, Any]]:
        p, cycle = web_system.platform, worlds[0]["cycle"]
        p.advance_to(datetime.fromisoformat(cycle["opens_at"]) + timedelta(minutes=1))
        placed = [w["shop"].wait_orders(1, order_cycle_id=w["cycle"]["id"])[0] for w in worlds]
        p.advance_to(datetime.fromisoformat(cycle["closes_at"]) + timedelta(minutes=1))
        return placed

    return run
