"""The browser harness: Debian's Chromium driven by pytest-playwright against
pytest-django's live server.

* Chromium is ``/usr/bin/chromium`` (Playwright's own download is not used). If it is
  missing or cannot start, every browser test fails; they are never skipped.
* Playwright's sync API keeps an asyncio loop running in the test thread while it is
  alive, and Django refuses database calls from a thread with a running loop. So the
  Playwright fixtures here live for this package only (not the whole session), and
  ``DJANGO_ALLOW_ASYNC_UNSAFE`` is set exactly while they do: the rest of the suite
  runs with Django's normal guard.
* Fixtures: ``signed_in(user, viewport)`` gives a page signed in as that user in a
  ``desktop`` (1280x900) or ``phone`` (390x844) context; ``screenshot(page, journey,
  viewport)`` saves ``test-output/screenshots/<journey>-<viewport>.png``;
  ``assert_accessible(page)`` runs axe-core (shipped inside axe-playwright-python, no
  CDN) and fails on critical or serious violations; ``assert_fits_width(page)`` fails
  on sideways scrolling.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.conf import settings
from django.db import connections
from django.test import Client
from playwright.sync_api import Browser, BrowserType, Page, Playwright, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORTS = {
    "desktop": {"viewport": {"width": 1280, "height": 900}},
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "is_mobile": True,
        "has_touch": True,
        "device_scale_factor": 1,
    },
}
SCREENSHOTS = Path(settings.BASE_DIR) / "test-output" / "screenshots"
BLOCKING_IMPACTS = ("critical", "serious")


def _chromium_or_fail() -> Path:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests need Debian's Chromium "
            "(`sudo apt-get install chromium`, or `make system-deps` as root).",
            pytrace=False,
        )
    return CHROMIUM


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    pw = sync_playwright().start()
    try:
        yield pw
    finally:
        # While Playwright's loop runs, Django keeps this thread's connections apart
        # from the ones it uses outside it (asgiref's Local, thread_critical). Close
        # them now, while they can still be reached: left open, a PostgreSQL session
        # outlives the package and the test database cannot be dropped at the end.
        connections.close_all()
        pw.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict:
    return {
        "executable_path": str(_chromium_or_fail()),
        "headless": True,
        "args": CHROMIUM_ARGS,
    }


@pytest.fixture(scope="package")
def browser_type(playwright: Playwright) -> BrowserType:
    return playwright.chromium


@pytest.fixture(scope="package")
def launch_browser(browser_type_launch_args: dict, browser_type: BrowserType) -> Callable:
    def launch(**kwargs) -> Browser:
        return browser_type.launch(**{**browser_type_launch_args, **kwargs})

    return launch


@pytest.fixture(scope="package")
def browser(launch_browser) -> Iterator[Browser]:
    try:
        browser = launch_browser()
    except Exception as exc:  # a browser that cannot start fails the tests, loudly
        version = subprocess.run(  # noqa: S603
            [str(CHROMIUM), "--version"], capture_output=True, text=True, check=False
        )
        pytest.fail(
            f"Chromium at {CHROMIUM} could not start ({version.stdout.strip() or 'no version'}): "
            f"{exc}",
            pytrace=False,
        )
    yield browser
    browser.close()


@pytest.fixture(scope="package")
def browser_context_args() -> dict:
    return {"locale": "en-GB", "timezone_id": "Europe/London"}


@pytest.fixture
def open_context(new_context, live_server):
    """``open_context("phone")``: a fresh browser context at that viewport."""

    def open_(viewport: str = "desktop", **extra):
        context = new_context(base_url=live_server.url, **VIEWPORTS[viewport], **extra)
        context.set_default_timeout(15_000)
        return context

    return open_


@pytest.fixture
def signed_in(open_context, live_server):
    """``signed_in(user, "phone")``: a page in a context that carries a session of
    ``user`` (made with Django's test client, so no password is typed)."""

    def sign_in(user, viewport: str = "desktop") -> Page:
        client = Client()
        client.force_login(user)
        context = open_context(viewport)
        context.add_cookies(
            [
                {
                    "name": settings.SESSION_COOKIE_NAME,
                    "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                    "url": live_server.url,
                }
            ]
        )
        return context.new_page()

    return sign_in


@pytest.fixture(scope="package")
def screenshots_dir() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture
def screenshot(screenshots_dir):
    """``screenshot(page, "lead-dashboard", "phone")`` saves the whole page."""

    def take(page: Page, journey: str, viewport: str) -> Path:
        if not re.fullmatch(r"[a-z0-9-]+", journey) or viewport not in VIEWPORTS:
            raise ValueError(f"bad screenshot name {journey!r}/{viewport!r}")
        path = screenshots_dir / f"{journey}-{viewport}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


_AXE = Axe()


def axe_blocking_violations(page: Page) -> list[str]:
    results = _AXE.run(page)
    problems = []
    for violation in results.response["violations"]:
        if violation.get("impact") not in BLOCKING_IMPACTS:
            continue
        targets = [", ".join(node["target"]) for node in violation["nodes"][:5]]
        problems.append(
            f"{violation['impact']}: {violation['id']} ({violation['help']}) at {targets}"
        )
    return problems


@pytest.fixture
def assert_accessible():
    def check(page: Page) -> None:
        problems = axe_blocking_violations(page)
        assert not problems, f"axe on {page.url}:\n" + "\n".join(problems)

    return check


def sideways_overflow(page: Page) -> dict:
    return page.evaluate(
        """() => {
          const width = document.documentElement.clientWidth;
          const wide = [...document.querySelectorAll('body *')]
            .filter(el => el.getBoundingClientRect().right > width + 1)
            .slice(-5)
            .map(el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
                 + (el.className && typeof el.className === 'string'
                    ? '.' + el.className.trim().split(/\\s+/).join('.') : '')
                 + ' ' + Math.round(el.getBoundingClientRect().width) + 'px');
          return {scrollWidth: document.documentElement.scrollWidth,
                  innerWidth: window.innerWidth, wide};
        }"""
    )


@pytest.fixture
def assert_fits_width():
    """No sideways scrolling: the page is no wider than the window, and (on a phone,
    where Chrome would widen the layout viewport to fit a too-wide page) the window is
    still the device's width."""

    def check(page: Page) -> None:
        found = sideways_overflow(page)
        device_width = page.viewport_size["width"]
        assert found["scrollWidth"] <= found["innerWidth"] <= device_width, (
            f"{page.url} scrolls sideways: scrollWidth {found['scrollWidth']}, "
            f"innerWidth {found['innerWidth']}, device {device_width}; "
            f"too wide: {found['wide']}"
        )

    return check


@pytest.fixture
def world(district_a, district_b, school_a, school_b, organiser, volunteer, lead_a, lead_b):
    """The realistic campaign of tests/browser/world.py, with the team of tests/conftest."""
    from tests.browser.world import build_world

    return build_world(
        district_a=district_a,
        district_b=district_b,
        school_a=school_a,
        school_b=school_b,
        organiser=organiser,
        volunteer=volunteer,
        lead_b=lead_b,
    )


STRICT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)


@pytest.fixture
def strict_csp(live_server):
    """``violations = strict_csp(page)``: the page's responses from the live server get
    the strict Content-Security-Policy the product is moving to, and ``violations()``
    lists what the browser refused (inline scripts, style attributes, eval...)."""

    def apply(page: Page):
        page.add_init_script(
            """window.__cspViolations = [];
            document.addEventListener('securitypolicyviolation', e => {
              window.__cspViolations.push(
                e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' '
                + (e.sourceFile || '') + ':' + e.lineNumber);
            });"""
        )

        def add_header(route):
            response = route.fetch()
            headers = {**response.headers, "content-security-policy": STRICT_CSP}
            route.fulfill(response=response, headers=headers)

        page.route(f"{live_server.url}/**", add_header)
        return lambda: page.evaluate("window.__cspViolations || []")

    return apply
