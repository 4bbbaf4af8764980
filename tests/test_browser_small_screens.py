"""On a phone the header's menu collapses behind a "Menu" button (WCAG 1.4.10 reflow: the
navigation no longer fills the first screen); on a desktop every item shows."""

import pytest
from playwright.sync_api import expect

from tests.support.browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_menu_collapses_on_a_small_screen_and_opens_on_request(page, alice, password, assert_accessible):
    sign_in(page, "alice", password)
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto("/")
    menu = page.get_by_role("button", name="Menu")
    assert menu.is_visible()
    link = page.get_by_role("link", name="My applications")
    assert not link.is_visible()
    assert_accessible(page)
    menu.click()
    assert link.is_visible() and menu.get_attribute("aria-expanded") == "true"
    page.set_viewport_size({"width": 1280, "height": 800})
    expect(menu).to_be_hidden()
    expect(link).to_be_visible()


def test_no_page_of_alices_scrolls_sideways_at_320_px(page, alice, password):
    from workflows.tests.test_apply_support import build_catalogue, vault_document

    catalogue = build_catalogue()
    for marker in ("a", "b"):
        vault_document(alice, catalogue.lease, marker=marker)
    sign_in(page, "alice", password)
    page.set_viewport_size({"width": 320, "height": 640})
    for url in ("/", "/account/", "/vault/", "/applications/", "/services/", "/inbox/"):
        page.goto(url)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 320, f"{url} is {width} px wide at 320 px"
