"""The catalogue in Chromium: an administrator builds and publishes a service in the admin; citizens
find services by search and check whether they can apply; the catalogue pages are accessible."""

import json

import pytest
from playwright.sync_api import expect

from accounts.demo import seed_departments
from services.demo import seed_catalogue
from tests.support.browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROUTE = {
    "steps": [
        {"key": "check", "department": "market", "kind": "review", "label_en": "Check the application", "sla_days": 3},
        {"key": "hygiene", "department": "health", "kind": "review", "after": ["check"], "label_en": "Hygiene review"},
        {
            "key": "fire",
            "department": "fire",
            "kind": "review",
            "after": ["check"],
            "label_en": "Fire safety visit",
            "when": {"element": "business.floor_area_m2", "gt": 300},
        },
        {
            "key": "issue",
            "department": "market",
            "kind": "issue",
            "after": ["hygiene", "fire"],
            "label_en": "Issue the permit",
            "document_type": "food-business-licence",
        },
    ]
}
ELIGIBILITY = [
    {
        "when": {"element": "business.floor_area_m2", "gte": 20},
        "reason_en": "A night-market stall needs at least 20 m² of floor area.",
        "reason_zh": "夜市摊位面积不得少于20平方米。",
    }
]


@pytest.fixture
def catalogue(db):
    seed_departments()
    seed_catalogue()


@pytest.fixture
def citizen_page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, bypass_csp=True, locale="en-GB")
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def test_an_administrator_builds_a_three_department_service_and_a_citizen_finds_it(
    page, citizen_page, catalogue, administrator, password, assert_accessible
):
    sign_in(page, "admin", password)

    # The service, from scratch.
    page.goto("/admin/services/service/add/")
    page.get_by_label("Code").fill("night-market-stall")
    page.get_by_label("Lead department").select_option(label="Market Regulation Administration")
    page.get_by_label("Category").select_option(label="Business and trade")
    page.get_by_label("Name (English)").fill("Run a night-market food stall")
    page.get_by_label("Name (Chinese)").fill("夜市餐饮摊位经营许可")
    page.get_by_label("Summary (English)").fill("Sell cooked food from a stall at a night market.")
    page.get_by_label("Summary (Chinese)").fill("在夜市摊位销售熟食。")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("was added successfully")).to_be_visible()

    # Its first version: form, route over three departments, an eligibility rule.
    page.goto("/admin/services/serviceversion/add/")
    page.get_by_label("Service:").select_option(label="Run a night-market food stall")
    # Typed as JSON, in the builders' advanced view.
    page.locator(".field-route").get_by_text("Advanced: edit as JSON").click()
    page.get_by_label("Route:").fill(json.dumps(ROUTE))
    page.get_by_label("Route:").press("Tab")  # the builder takes the JSON on change, and grows
    page.locator(".field-eligibility").get_by_text("Advanced: edit as JSON").click()
    page.get_by_label("Eligibility rules:").fill(json.dumps(ELIGIBILITY, ensure_ascii=False))
    page.get_by_label("Eligibility rules:").press("Tab")
    for index, key in enumerate(["business.name", "business.floor_area_m2"]):
        page.get_by_text("Add another Form field").click()
        page.locator(f"select[name='fields-{index}-element']").select_option(label=key)
        page.locator(f"input[name='fields-{index}-order']").fill(str(index))
    page.get_by_role("button", name="Save and continue editing").click()
    expect(page.get_by_text("was added successfully")).to_be_visible()

    # The diagram: every department's box, the condition, and the publish check.
    diagram = page.locator("svg.od-route")
    assert diagram.get_attribute("role") == "img"
    for text in ("Market Regulation", "Health Commission", "Fire and Rescue Department"):
        expect(diagram.locator("text", has_text=text).first).to_be_visible()
    expect(page.get_by_text("Yes: nothing stops this version from being published.")).to_be_visible()

    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_text("is published: citizens see it now")).to_be_visible()
    assert page.locator("input[name='time_limit_days']").count() == 0  # read-only now

    # A citizen finds it by search and checks whether they can apply.
    citizen = citizen_page
    citizen.goto("/services/")
    citizen.get_by_label("Search services").fill("night market")
    citizen.get_by_role("button", name="Search").click()
    citizen.get_by_role("link", name="Run a night-market food stall").click()
    expect(citizen.get_by_role("heading", name="Run a night-market food stall")).to_be_visible()
    # The drawing that fits the column is shown: in columns, or stacked when the columns would be too small.
    expect(citizen.locator(".od-route-figure svg text:visible", has_text="Fire safety visit")).to_be_visible()
    assert_accessible(citizen)
    citizen.get_by_role("link", name="Check if you can apply").click()
    citizen.get_by_label("Floor area of the premises (m²)").fill("12")
    citizen.get_by_role("button", name="Check").click()
    expect(citizen.get_by_text("You cannot apply yet")).to_be_visible()
    expect(citizen.get_by_text("A night-market stall needs at least 20 m² of floor area.")).to_be_visible()
    citizen.get_by_label("Floor area of the premises (m²)").fill("25")
    citizen.get_by_role("button", name="Check").click()
    expect(citizen.get_by_role("heading", name="You can apply", exact=True)).to_be_visible()
    assert_accessible(citizen)


def test_a_citizen_finds_open_a_restaurant_and_checks_eligibility(page, catalogue, assert_accessible):
    page.goto("/")
    page.get_by_role("link", name="Services").first.click()
    expect(page.get_by_role("heading", name="Find a service")).to_be_visible()
    assert_accessible(page)

    page.get_by_label("Search services").fill("restaurant")
    page.get_by_role("button", name="Search").click()
    assert_accessible(page)
    page.get_by_role("link", name="Open a restaurant").click()
    expect(page.get_by_role("heading", name="Open a restaurant", exact=True)).to_be_visible()
    assert page.locator("svg.od-route").count() == 3
    assert_accessible(page)

    page.get_by_role("link", name="Check if you can apply").click()
    page.get_by_role("button", name="Check").click()  # nothing answered
    expect(page.get_by_role("heading", name="There is a problem")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Floor area of the premises (m²)").fill("8")
    page.get_by_label("Chinese restaurant").check()
    page.get_by_role("button", name="Check").click()
    expect(page.get_by_text("Premises that serve food must have at least 10 m² of floor area.")).to_be_visible()
    page.get_by_label("Floor area of the premises (m²)").fill("80")
    page.get_by_role("button", name="Check").click()
    expect(page.get_by_role("heading", name="You can apply", exact=True)).to_be_visible()
    assert_accessible(page)


def test_the_catalogue_in_chinese_is_accessible(page, catalogue, assert_accessible):
    page.goto("/services/")
    page.get_by_role("button", name="简体中文").click()
    page.wait_for_load_state("networkidle")
    page.get_by_role("searchbox").fill("生孩子")
    page.get_by_role("button").filter(has_text="Search").or_(page.get_by_role("button", name="搜索")).first.click()
    page.get_by_role("link", name="生孩子").click()
    assert page.locator("html").get_attribute("lang") == "zh-Hans"
    expect(page.get_by_role("heading", name="生孩子", exact=True)).to_be_visible()
    assert_accessible(page)


def test_a_misspelt_search_offers_the_closest_word_and_everyday_chinese_finds_the_life_event(
    page, catalogue, assert_accessible
):
    page.goto("/services/")
    page.get_by_label("Search services").fill("resturant")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_text("No service matches your search")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name="restaurant", exact=True).click()
    expect(page.get_by_role("heading", name="3 results")).to_be_visible()
    first = page.locator("ol.govuk-list > li").first
    expect(first.get_by_role("link")).to_have_text("Open a restaurant")
    assert_accessible(page)

    page.get_by_label("Search services").fill("开饭店")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("ol.govuk-list > li").first.get_by_role("link")).to_have_text("Open a restaurant")
    assert_accessible(page)
