"""Chromium through Playwright, with axe-core for accessibility checks."""

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.support.second_factor import TEST_DEVICE_NAME, totp_code

ROOT = Path(__file__).resolve().parents[2]
AXE_SOURCE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser() -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server) -> Iterator:
    # bypass_csp lets the test inject axe-core; the portal's own pages never need it.
    context = browser.new_context(base_url=live_server.url, bypass_csp=True, locale="en-GB")
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def sign_in(page, username: str, password: str) -> None:
    """Signs in with the password; staff (who have a test authenticator, see
    tests/support/second_factor.py) then type its current code on the verification step."""
    page.goto("/accounts/login/")
    page.get_by_label("Log-in name or e-mail address").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_load_state("networkidle")
    if page.url.split("?")[0].endswith("/accounts/verify/"):
        device = TOTPDevice.objects.filter(user__username=username, name=TEST_DEVICE_NAME).first()
        if device is not None:
            page.get_by_label("Code").fill(totp_code(device))
            page.get_by_role("button", name="Continue").click()
            page.wait_for_load_state("networkidle")


# The rules every check runs: all of axe's rules except those for AAA only (WCAG's enhanced levels
# are not our target) and the deprecated ones (duplicate-id tests the obsolete WCAG 4.1.1). That is
# every rule for WCAG 2.0, 2.1 and 2.2 at levels A and AA, target size (2.5.8) included, and axe's
# best practices; `runOnly` by rule also runs the experimental ones axe leaves off by default.
# A violation of any impact counts.
AXE_RUN = """
async () => {
  const levels = (tags, pattern) => tags.some(t => pattern.test(t));
  const aaaOnly = (tags) => levels(tags, /^wcag2[12]?aaa$/) && !levels(tags, /^wcag2[12]?aa?$/);
  const rules = axe.getRules()
    .filter(r => !r.tags.includes('deprecated') && !aaaOnly(r.tags))
    .map(r => r.ruleId);
  const result = await axe.run(document, {runOnly: {type: 'rule', values: rules}, resultTypes: ['violations']});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help, count: v.nodes.length,
    targets: v.nodes.slice(0, 5).map(n => n.target.join(' ')),
  }));
}
"""


def axe_violations(page) -> list[dict]:
    """Runs axe-core (from node_modules, not a CDN) on the current page: every violation of
    AXE_RUN's rules, whatever its impact."""
    page.evaluate(AXE_SOURCE.read_text())
    return page.evaluate(AXE_RUN)


@pytest.fixture
def assert_accessible():
    def check(page) -> None:
        violations = axe_violations(page)
        assert violations == [], f"axe found accessibility problems on {page.url}: {violations}"

    return check
