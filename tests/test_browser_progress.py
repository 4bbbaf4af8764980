"""Alice follows her bundle: each department's clock, the inbox, a rating, and which clerks
looked at her data — in Chromium, axe clean on every page."""

from contextlib import nullcontext

import pytest

from tests.support.browser import sign_in
from workflows.models import Application, ApplicationGroup
from workflows.tests.progress_support import ONE_STEP, TWO_DEPARTMENTS, decide, item, submit
from workflows.workbench.access import application_viewed, field_revealed
from workflows.workbench.selectors import Visible

NOTHING_SHOWN = Visible(elements=(), documents=())

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def no_capture(execute: bool = True):
    return nullcontext()  # transactional test: on-commit work runs as each transaction commits


@pytest.fixture
def bundle(alice, clerk_a, clerk_b):
    restaurant = submit(no_capture, applicant=alice, route=TWO_DEPARTMENTS, code="restaurant-licence")
    application_viewed(accessor=clerk_a, work_item=item(restaurant, "licence"), visible=NOTHING_SHOWN)
    field_revealed(accessor=clerk_a, work_item=item(restaurant, "licence"), field_key="person.id_number")
    decide(no_capture, restaurant, "licence", clerk_a)
    application_viewed(accessor=clerk_b, work_item=item(restaurant, "fire"), visible=NOTHING_SHOWN)
    decide(no_capture, restaurant, "fire", clerk_b)
    tax = submit(no_capture, applicant=alice, route=ONE_STEP, code="tax-registration")
    Application.objects.filter(pk=tax.pk).update(group=restaurant.group)
    ApplicationGroup.objects.filter(pk=restaurant.group_id).update(number="2026-EVT-000001")
    restaurant.refresh_from_db()
    return restaurant, tax


def test_alice_follows_her_bundle_rates_and_sees_who_looked(page, alice, password, bundle, assert_accessible):
    restaurant, _tax = bundle
    assert restaurant.status == Application.Status.APPROVED
    sign_in(page, "alice", password)

    # The header shows unread messages: receipts, the decision and the invitation to rate.
    unread = page.locator("#inbox-unread")
    assert int(unread.inner_text().split()[0]) >= 4
    page.get_by_role("link", name="Inbox").click()
    assert page.get_by_role("heading", name="Inbox").is_visible()
    assert_accessible(page)
    page.get_by_role("link", name=f"Your application {restaurant.number} has been approved").click()
    assert page.get_by_text("has been approved").first.is_visible()
    assert_accessible(page)

    # The bundle: each service, each department's step and clock.
    page.goto("/applications/bundles/2026-EVT-000001/")
    assert page.get_by_role("heading", name="Service restaurant-licence").is_visible()
    assert page.get_by_role("heading", name="Service tax-registration").is_visible()
    tax_steps = page.locator("section", has=page.get_by_role("heading", name="Service tax-registration"))
    assert "working days left" in tax_steps.locator("tr[data-step=licence]").inner_text()
    restaurant_steps = page.locator("section", has=page.get_by_role("heading", name="Service restaurant-licence"))
    assert "Fire and Rescue" in restaurant_steps.locator("tr[data-step=fire]").inner_text()
    assert "Finished" in restaurant_steps.locator("tr[data-step=fire]").inner_text()
    assert_accessible(page)

    # Rate the decided service.
    page.get_by_role("link", name=f"Application {restaurant.number}").click()
    assert page.get_by_text("Approved").first.is_visible()
    assert_accessible(page)
    page.get_by_role("link", name="Rate this department Fire and Rescue").click()
    assert_accessible(page)
    page.get_by_role("button", name="Send rating").click()
    assert page.get_by_text("There is a problem").is_visible()  # nothing chosen
    assert_accessible(page)
    page.get_by_label("2 — Poor").check()
    page.get_by_label("Comment (optional)").fill("The fire check took long.")
    page.get_by_role("button", name="Send rating").click()
    assert page.get_by_text("Thank you. Your rating has been recorded.").is_visible()
    assert page.get_by_text("will follow up your rating by").is_visible()

    # Who looked at my data.
    page.get_by_role("link", name="See who looked at the data of this application").click()
    log = page.locator("#access-log")
    assert "Clerk A" in log.inner_text() and "Market Regulation" in log.inner_text()
    assert "Clerk B" in log.inner_text() and "Fire and Rescue" in log.inner_text()
    assert "Revealed a protected field: person.id_number" in log.inner_text()
    assert_accessible(page)
