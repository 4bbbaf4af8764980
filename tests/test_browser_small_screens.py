"""On a phone the header's menu collapses behind a "Menu" button (WCAG 1.4.10 reflow: the
navigation no longer fills the first screen); on a desktop every item shows."""

import pytest

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
    assert not menu.is_visible() and link.is_visible()
