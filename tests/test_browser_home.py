import pytest

from tests.support.browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_alice_signs_in_and_the_home_page_is_accessible(page, alice, password, assert_accessible):
    sign_in(page, "alice", password)
    assert page.get_by_text("Welcome, Alice Wang.").is_visible()
    assert page.locator("html").get_attribute("lang") == "en"
    assert_accessible(page)


def test_the_language_switch_works_in_the_browser(page, assert_accessible):
    page.goto("/")
    page.get_by_role("button", name="简体中文").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("html").get_attribute("lang") == "zh-Hans"
    assert page.get_by_role("link", name="登录").first.is_visible()
    assert_accessible(page)
