"""Browser tests: Debian's Chromium driven by Playwright for Python (never a downloaded browser) against the real
stack: the four services as processes on PostgreSQL, Kafka, localstripe and the SMTP sink (the devstack fixtures),
and the web app under gunicorn. Every page visited is checked with axe-core (npm, pinned in services/web/
package.json) and photographed at 375 px wide under test-output/web/ (git-ignored)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from devstack.scenario import Platform
from devstack.stack import repo_root

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
    from devstack.testing import emailed_sign_in_token, last_message_id

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
    import uuid

    def sign_in(*shops: Any) -> Manager:
        shop_ids = tuple(s if isinstance(s, str) else s.id for s in shops)
        email = f"manager-{uuid.uuid4().hex[:8]}@example.org"
        for shop_id in shop_ids:
            web_system.platform.admin.post(f"/api/v1/shops/{shop_id}/managers", {"email": email})
        sign_in_as_manager(web_system, visit.page, email)
        return Manager(email, shop_ids, visit.page)

    return sign_in
