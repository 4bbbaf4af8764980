"""Alice's father gives her a mandate; she accepts it, acts for him (the banner says so on every
page), applies for him with his verified identity, and he is told. Every page is checked with axe."""

import pytest

from accounts.actions import verified_attribute_set
from accounts.demo import DEMO_PASSWORD, seed_accounts, seed_departments
from accounts.models import Department, User
from services.demo import seed_catalogue
from tests.support.browser import sign_in
from workflows.models import Application, Mandate, Notification
from workflows.tests.test_apply_support import _service

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FATHER_ID = "110105195501010019"
ONE_REVIEW = {"steps": [{"key": "review", "department": "market", "kind": "review", "sla_days": 5}]}


@pytest.fixture
def family(transactional_db):
    seed_departments()
    seed_accounts()
    seed_catalogue()
    father = User.objects.create(
        username="wang.jianguo", display_name="Wang Jianguo", email="jianguo@example.org", preferred_language="en"
    )
    father.set_password(DEMO_PASSWORD)
    father.save(update_fields=["password"])
    for key, value in {"person.full_name": "Wang Jianguo", "person.id_number": FATHER_ID}.items():
        verified_attribute_set(user=father, element_key=key, value=value, source="identity")
    service = _service(
        "senior-travel-card",
        "Senior travel card",
        Department.objects.get(code="market"),
        [("person.full_name", "About you", True, None), ("person.id_number", "About you", True, None)],
        [],
        route=ONE_REVIEW,
    )
    return father, service


def _go(page, action) -> None:
    action()
    page.wait_for_load_state("networkidle")


def test_alice_applies_for_her_father_under_his_mandate_and_he_is_told(page, family, assert_accessible):
    father, service = family

    # He gives her a mandate for the senior travel card.
    sign_in(page, "wang.jianguo", DEMO_PASSWORD)
    page.goto("/account/")
    _go(page, lambda: page.get_by_role("link", name="Mandates: acting for each other").click())
    assert_accessible(page)
    _go(page, lambda: page.get_by_role("link", name="Give someone a mandate").click())
    assert_accessible(page)
    # A mistake first: the wrong resident ID finds nobody, and what was typed is kept.
    page.get_by_label("Their e-mail address or log-in name").fill("alice@example.org")
    page.get_by_label("Their resident ID number").fill(FATHER_ID)
    page.get_by_label("Only the services and life events I choose").check()
    page.get_by_label("Senior travel card").check()
    page.get_by_label("Yes: they may submit").check()
    _go(page, lambda: page.get_by_role("button", name="Offer the mandate").click())
    assert page.get_by_text("We found no person with a verified identity").is_visible()
    assert page.get_by_label("Their e-mail address or log-in name").input_value() == "alice@example.org"
    assert_accessible(page)
    page.get_by_label("Their resident ID number").fill("11010519491231002X")
    _go(page, lambda: page.get_by_role("button", name="Offer the mandate").click())
    assert page.get_by_text("Mandate offered to Alice Wang").is_visible()
    assert page.get_by_text("Waiting for acceptance").is_visible()
    assert_accessible(page)
    page.context.clear_cookies()

    # Alice accepts it and acts for him.
    sign_in(page, "alice", DEMO_PASSWORD)
    page.goto("/account/mandates/")
    assert_accessible(page)
    _go(page, lambda: page.get_by_role("button", name="Accept the mandate of Wang Jianguo").click())
    assert page.get_by_text("You accepted the mandate of Wang Jianguo").is_visible()
    _go(page, lambda: page.get_by_role("button", name="Act for Wang Jianguo").click())
    banner = page.locator(".od-acting-banner")
    assert banner.get_by_text("Acting for Wang Jianguo").is_visible()
    assert_accessible(page)

    # She applies for him: his verified name and resident ID, his application.
    page.goto(f"/services/{service.code}/apply/")
    assert banner.get_by_text("Acting for Wang Jianguo").is_visible()
    _go(page, lambda: page.get_by_role("button", name="Start now").click())
    assert page.get_by_label("Full name").input_value() == "Wang Jianguo"
    assert_accessible(page)
    _go(page, lambda: page.get_by_role("button", name="Save and continue").click())
    assert page.get_by_role("heading", name="Check your answers").is_visible()
    assert_accessible(page)
    _go(page, lambda: page.get_by_role("button", name="Accept and submit").click())
    application = Application.objects.get(service=service)
    assert application.applicant == father
    assert page.get_by_text(application.number).first.is_visible()

    # Switching back: the banner is gone.
    _go(page, lambda: banner.get_by_role("button", name="Switch back to yourself").click())
    assert page.get_by_text("You are acting for yourself again").is_visible()
    assert page.locator(".od-acting-banner").count() == 0
    page.context.clear_cookies()

    # He is told: his inbox says who submitted what for him.
    sign_in(page, "wang.jianguo", DEMO_PASSWORD)
    page.goto("/inbox/")
    assert page.get_by_text(f"Alice Wang submitted application {application.number} for you").is_visible()
    assert_accessible(page)
    assert Notification.objects.filter(user=father, event=Notification.Event.ACTED_FOR).count() == 1
    assert Mandate.objects.get().is_active
