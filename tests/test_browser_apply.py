"""Alice opens a restaurant with one merged form: what the state knows is filled in and marked
verified, her vault documents are reused, she submits once and sees the receipt. Every step
is checked with axe."""

import re

import pytest
from django.urls import reverse

from accounts.demo import DEMO_PASSWORD, seed_accounts, seed_departments
from services.demo import seed_catalogue
from tests.support.browser import sign_in
from workflows.apply.demo import seed_demo_vault
from workflows.models import Application, ApplicationGroup, GroupDocument

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo(transactional_db):
    seed_departments()
    seed_accounts()
    seed_catalogue()
    seed_demo_vault()


def _continue(page) -> None:
    page.get_by_role("button", name="Save and continue").click()
    page.wait_for_load_state("networkidle")


def test_alice_opens_a_restaurant_with_one_form_and_one_submission(page, demo, assert_accessible):
    sign_in(page, "alice", DEMO_PASSWORD)
    page.goto("/life-events/open-a-restaurant/")
    page.get_by_role("button", name="Apply for all of these now").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("heading", name="Open a restaurant").is_visible()
    assert page.get_by_text("we already know the answers to 3 of them").is_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Start now").click()
    page.wait_for_load_state("networkidle")

    # Step 1: about you — everything is already known and marked verified.
    assert page.get_by_role("heading", name="About you").is_visible()
    assert page.get_by_label("Full name").input_value() == "Alice Wang"
    assert page.get_by_label("Resident ID number").input_value() == "11010519491231002X"
    assert page.locator(".govuk-tag", has_text="Verified").count() == 3
    assert_accessible(page)
    _continue(page)

    # Step 2: the business, each question once although three services ask most of them.
    assert page.get_by_role("heading", name="Your business").is_visible()
    assert page.get_by_label("Business name").count() == 1
    page.get_by_label("Business name").fill("Alice's Noodles")
    page.get_by_label("Floor area of the premises (m²)").fill("lots")  # a mistake first
    # A question another answer opens up appears in place (no reload, nothing typed lost) and goes again.
    capital = page.get_by_label("Registered capital (CNY)")
    assert capital.count() == 0
    page.get_by_label("Limited company").check()
    capital.wait_for()
    assert page.get_by_label("Business name").input_value() == "Alice's Noodles"
    assert page.get_by_label("Floor area of the premises (m²)").input_value() == "lots"
    assert_accessible(page)
    page.get_by_label("Individual business").check()
    capital.wait_for(state="detached")
    page.get_by_label("Business premises address").fill("8 Gulou Street, Dongcheng District, Beijing")
    page.get_by_label("Chinese restaurant").check()
    page.get_by_label("Number of seats").fill("40")
    page.locator("input[name='business__has_employees'][value='no']").check()
    _continue(page)
    assert page.get_by_text("There is a problem").is_visible()
    assert page.locator("#id_business__floor_area_m2-error").is_visible()
    assert page.get_by_label("Business name").input_value() == "Alice's Noodles"  # nothing typed is lost
    assert page.get_by_label("Floor area of the premises (m²)").input_value() == "lots"
    assert_accessible(page)
    page.get_by_label("Floor area of the premises (m²)").fill("120")
    _continue(page)

    # Step 3: documents — the three she needs are in her vault; nothing to upload.
    assert page.get_by_role("heading", name="Documents").is_visible()
    assert page.get_by_text("Use alice-id-card.pdf from my vault").is_visible()
    assert page.get_by_text("Use lease-1-renmin-road.pdf from my vault").is_visible()
    assert page.get_by_text("Health certificate").count() == 0  # no employees
    assert page.get_by_text("Fire safety rules").count() == 0  # not over 300 m²
    assert_accessible(page)
    _continue(page)

    # Step 4: check and submit.
    assert page.get_by_role("heading", name="Check your answers").is_visible()
    assert page.get_by_text("What is still missing").count() == 0
    assert page.locator(".govuk-tag", has_text="From your vault").count() == 3
    assert_accessible(page)
    page.get_by_role("button", name="Accept and submit").click()
    page.wait_for_load_state("networkidle")

    # The receipt: one submission, three applications, each with its due date.
    assert page.get_by_role("heading", name="Application submitted").is_visible()
    assert page.get_by_text("What happens next").is_visible()
    numbers = re.findall(r"\d{4}-(?:MKT|TAX)-\d{6}", page.locator("table").inner_text())
    assert len(numbers) == 3
    assert_accessible(page)

    group = ApplicationGroup.objects.get(applicant__username="alice")
    assert group.submitted_at is not None
    assert sorted(Application.objects.filter(group=group).values_list("number", flat=True)) == sorted(numbers)
    assert GroupDocument.objects.filter(group=group).count() == 3
    assert {a.document.owner.username for a in GroupDocument.objects.filter(group=group)} == {"alice"}

    page.goto("/applications/")
    assert page.get_by_role("link", name=group.number, exact=True).is_visible()
    assert_accessible(page)


def test_alice_applies_for_her_company_and_its_register_name_is_filled_in(page, demo, assert_accessible):
    sign_in(page, "alice", DEMO_PASSWORD)
    page.goto("/services/business-licence/apply/")
    page.get_by_role("button", name="Start now").click()  # nothing chosen: for herself
    page.wait_for_load_state("networkidle")
    page.goto("/services/business-licence/apply/")
    assert page.get_by_role("group", name="Who are you applying for?").is_visible()
    page.get_by_label("Noodle House Catering Co., Ltd.").check()
    assert_accessible(page)
    page.get_by_role("button", name="Start a new application").click()
    page.wait_for_load_state("networkidle")
    group = ApplicationGroup.objects.filter(organisation__isnull=False).get()
    assert group.data["business.name"] == "Noodle House Catering Co., Ltd."
    # Wherever the business questions are, the register's name is filled in and marked verified.
    page.goto(reverse("workflows:apply-section", args=[group.pk, 2]))
    assert page.get_by_label("Business name").input_value() == "Noodle House Catering Co., Ltd."
    assert_accessible(page)
