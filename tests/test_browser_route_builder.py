"""The route builder in Chromium: an administrator builds a route over three departments with a
condition, and an eligibility rule, without typing any JSON; what is saved is what was built; a
problem of the route is shown next to the step that causes it, live and after saving. axe (every
rule, WCAG 2.2 included) finds nothing in the builders or the diagram."""

import pytest
from playwright.sync_api import expect

from accounts.demo import seed_departments
from services.demo import seed_catalogue
from services.models import DataElement, FormField, Service, ServiceVersion
from tests.support.browser import AXE_SOURCE, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BUILT_ROUTE = {
    "steps": [
        {"key": "check", "kind": "review", "label_en": "Check the application", "department": "market", "sla_days": 3},
        {
            "key": "fire",
            "kind": "review",
            "after": ["check"],
            "label_en": "Fire safety visit",
            "department": "fire",
            "when": {"element": "business.floor_area_m2", "gt": 300},
        },
        {"key": "hygiene", "kind": "review", "after": ["check"], "label_en": "Hygiene review", "department": "health"},
        {
            "key": "issue",
            "kind": "issue",
            "after": ["fire", "hygiene"],
            "label_en": "Issue the permit",
            "department": "market",
            "document_type": "food-business-licence",
        },
    ]
}


AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa", "best-practice"]


def axe_everything(page, selectors: list[str]) -> list[dict]:
    """axe with every rule on (WCAG 2.0–2.2 A/AA and best practice), on the given parts of the page."""
    page.evaluate(AXE_SOURCE.read_text())
    result = page.evaluate(
        """async ([selectors, tags]) => await axe.run({include: selectors.map((s) => [s])}, {
            resultTypes: ['violations'], runOnly: {type: 'tag', values: tags},
        })""",
        [selectors, AXE_TAGS],
    )
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
    ]


@pytest.fixture
def draft(db):
    seed_departments()
    seed_catalogue()
    service = Service.objects.create(
        code="night-market-stall",
        lead_department_id=Service.objects.first().lead_department_id,
        name_en="Run a night-market food stall",
        name_zh="夜市餐饮摊位经营许可",
        category="business",
    )
    version = ServiceVersion.objects.create(service=service, number=1, route={}, eligibility=[])
    for order, key in enumerate(["business.name", "business.floor_area_m2"]):
        FormField.objects.create(version=version, element=DataElement.objects.get(key=key), order=order)
    return version


def add_step(page, *, key: str, label: str, department: str, kind: str = "review"):
    page.get_by_role("button", name="Add a step").click()
    step = page.locator("fieldset.od-builder__item").last
    step.get_by_label("Key").fill(key)
    step.get_by_label("Key").press("Tab")  # the key is taken on change
    step = page.locator("fieldset.od-builder__item").last
    step.get_by_label("Name shown (English)").fill(label)
    step.get_by_label("Department").select_option(label=department)
    step.get_by_label("Kind of step").select_option(kind)
    return page.locator("fieldset.od-builder__item").last


def test_an_administrator_builds_a_route_without_json(page, draft, administrator, password):
    sign_in(page, "admin", password)
    page.goto(f"/admin/services/serviceversion/{draft.pk}/change/")
    route_field = page.locator(".field-route")
    # The JSON is there, folded away as the advanced view.
    expect(route_field.get_by_text("Advanced: edit as JSON")).to_be_visible()
    expect(route_field.locator("textarea")).to_be_hidden()

    check = add_step(page, key="check", label="Check the application", department="Market Regulation Administration")
    check.get_by_label("Time limit in working days").fill("3")

    fire = add_step(page, key="fire", label="Fire safety visit", department="Fire and Rescue Department")
    expect(fire.get_by_label("Check the application (check)")).to_be_checked()  # after the step before
    fire.get_by_role("button", name="Add a condition").click()
    fire.get_by_label("Question (data element)").select_option("business.floor_area_m2")
    fire.get_by_label("Test").select_option(label="is more than")
    fire.get_by_label("Value").fill("300")

    hygiene = add_step(page, key="hygiene", label="Hygiene review", department="Health Commission")
    hygiene.get_by_label("Fire safety visit (fire)").uncheck()
    hygiene.get_by_label("Check the application (check)").check()

    issue = add_step(
        page, key="issue", label="Issue the permit", department="Market Regulation Administration", kind="issue"
    )
    issue.get_by_label("Document type issued").select_option("food-business-licence")
    issue.get_by_label("Fire safety visit (fire)").check()

    # The eligibility rule, with the same condition builder.
    rules = page.locator(".field-eligibility")
    rules.get_by_role("button", name="Add a rule").click()
    rules.get_by_role("button", name="Add a condition").click()
    rules.get_by_label("Question (data element)").select_option("business.floor_area_m2")
    rules.get_by_label("Test").select_option(label="is at least")
    rules.get_by_label("Value").fill("20")
    rules.get_by_label("Reason shown when the rule is not met (English)").fill("At least 20 m² of floor area.")

    # The live diagram and checks follow the builder.
    diagram = page.locator(".field-diagram svg.od-route").first
    for text in ("Market Regulation", "Health Commission", "Fire and Rescue"):
        expect(diagram.locator("text", has_text=text).first).to_be_visible()
    expect(page.get_by_text("Checked: nothing in the route stops it from being published.")).to_be_visible()
    assert axe_everything(page, [".field-route", ".field-eligibility", ".field-diagram"]) == []

    page.get_by_role("button", name="Save and continue editing").click()
    expect(page.get_by_text("was changed successfully")).to_be_visible()
    draft.refresh_from_db()
    assert draft.route == BUILT_ROUTE
    assert draft.eligibility == [
        {"when": {"element": "business.floor_area_m2", "gte": 20}, "reason_en": "At least 20 m² of floor area."}
    ]
    # Built back from what was saved.
    expect(page.locator("fieldset.od-builder__item").filter(has_text="Step 4: Issue the permit")).to_be_visible()

    # A problem is shown next to the step that causes it: live…
    hygiene = page.locator("fieldset.od-builder__item").filter(has_text="Step 3: Hygiene review")
    hygiene.get_by_label("Kind of step").select_option("automatic")
    hygiene = page.locator("fieldset.od-builder__item").filter(has_text="Step 3: Hygiene review")
    expect(hygiene.locator(".od-builder__problems")).to_contain_text(
        "Step “hygiene” is automatic but names no handler."
    )
    other = page.locator("fieldset.od-builder__item").filter(has_text="Step 1: Check the application")
    expect(other.locator(".od-builder__problems")).to_be_hidden()
    expect(page.get_by_text("Checked: 1 problem in the route.")).to_be_visible()
    assert axe_everything(page, [".field-route", ".field-diagram"]) == []

    # …and after saving, where the page stays to show it.
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("The route has problems that stop it from being published")).to_be_visible()
    hygiene = page.locator("fieldset.od-builder__item").filter(has_text="Step 3: Hygiene review")
    expect(hygiene.locator(".od-builder__problems")).to_contain_text(
        "Step “hygiene” is automatic but names no handler."
    )
    draft.refresh_from_db()
    assert draft.route["steps"][2]["kind"] == "automatic"


def test_without_javascript_the_json_is_edited_as_before(browser, live_server, draft, administrator, password):
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False, locale="en-GB")
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        sign_in(page, "admin", password)
        page.goto(f"/admin/services/serviceversion/{draft.pk}/change/")
        textarea = page.get_by_label("Route:")
        expect(textarea).to_be_visible()
        assert textarea.input_value() == "{}"
        expect(page.get_by_label("Eligibility rules:")).to_have_value("[]")
        assert page.locator("text=null").count() == 0
        textarea.fill('{"steps": [{"key": "check", "department": "market", "kind": "review"}]}')
        page.get_by_role("button", name="Save and continue editing").click()
        expect(page.get_by_text("was changed successfully")).to_be_visible()
        draft.refresh_from_db()
        assert draft.route == {"steps": [{"key": "check", "department": "market", "kind": "review"}]}
    finally:
        context.close()


@pytest.mark.parametrize("width", [375, 1280])
def test_the_public_route_diagram_is_readable(page, draft, width, assert_accessible):
    """On the service page with the demo's longest route: the drawing shown fits the page and
    its 13-unit text is drawn at 10 px or more; every box keeps its full text in a <title>."""
    published = ServiceVersion.objects.filter(status=ServiceVersion.Status.PUBLISHED).select_related("service")
    longest = max(published, key=lambda version: len((version.route or {}).get("steps", [])))
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"/services/{longest.service.code}/")
    shown = page.locator(".od-route-figure > svg:visible")
    expect(shown).to_have_count(1)
    measure = shown.evaluate(
        """(svg) => ({
            scale: svg.getBoundingClientRect().width / svg.viewBox.baseVal.width,
            right: svg.getBoundingClientRect().right,
            titles: [...svg.querySelectorAll('g[data-step] > title')].map((t) => t.textContent),
            pageWidth: document.documentElement.scrollWidth,
        })"""
    )
    assert measure["scale"] * 13 >= 10, measure
    assert measure["right"] <= width and measure["pageWidth"] <= width, measure
    assert len(measure["titles"]) == len(longest.route["steps"])
    assert all(" — " in title for title in measure["titles"])  # name — department — kind
    assert_accessible(page)
