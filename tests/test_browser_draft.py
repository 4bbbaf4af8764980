"""Nothing a person typed is lost when the portal cannot save it: Alice's save of a question page
meets the "briefly unavailable" page (503), and when she comes back to the question page her
answers are put back, with a note; once saved, the kept copy is gone. Signing out drops it."""

import re

import pytest

from accounts.demo import DEMO_PASSWORD, seed_accounts, seed_departments
from services.demo import seed_catalogue
from tests.support.browser import sign_in
from workflows.apply.demo import seed_demo_vault
from workflows.models import ApplicationGroup

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

UNAVAILABLE = (
    "<!DOCTYPE html><html lang='en'><head><title>Service briefly unavailable</title></head>"
    "<body><main><h1>Sorry, the service is briefly unavailable</h1></main></body></html>"
)
RESTORED = "We have put back the answers you typed before they could be saved."
SECTION = re.compile(r".*/applications/\d+/questions/\d+/$")


@pytest.fixture
def business_page(page, transactional_db):
    seed_departments()
    seed_accounts()
    seed_catalogue()
    seed_demo_vault()
    sign_in(page, "alice", DEMO_PASSWORD)
    page.goto("/services/business-licence/apply/")
    page.get_by_role("button", name="Start now").click()
    page.wait_for_load_state("networkidle")
    group = ApplicationGroup.objects.get(applicant__username="alice", submitted_at__isnull=True)
    url = f"/applications/{group.pk}/questions/2/"
    page.goto(url)
    assert page.get_by_role("heading", name="Your business").is_visible()
    return url


def outage(page) -> None:
    """Every save of a question page is answered as the portal answers while it is down."""

    def unavailable(route) -> None:
        if route.request.method == "POST":
            route.fulfill(status=503, headers={"Retry-After": "60"}, content_type="text/html", body=UNAVAILABLE)
        else:
            route.continue_()

    page.route(SECTION, unavailable)


def drafts(page) -> list[str]:
    return page.evaluate("Object.keys(sessionStorage).filter((k) => k.startsWith('onedoor:draft:'))")


def test_answers_typed_before_an_outage_come_back_and_are_saved_later(page, business_page, assert_accessible):
    outage(page)
    page.get_by_label("Business name").fill("Alice's Noodles")
    page.get_by_label("Individual business").check()
    page.get_by_label("Business premises address").fill("8 Gulou Street, Dongcheng District, Beijing")
    page.get_by_role("button", name="Save and continue").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("heading", name="Sorry, the service is briefly unavailable").is_visible()

    page.unroute(SECTION)
    page.goto(business_page)  # she comes back to the question page
    assert page.get_by_label("Business name").input_value() == "Alice's Noodles"
    assert page.get_by_label("Individual business").is_checked()
    assert page.get_by_label("Business premises address").input_value() == "8 Gulou Street, Dongcheng District, Beijing"
    assert page.get_by_role("status").filter(has_text=RESTORED).is_visible()
    assert_accessible(page)

    page.get_by_role("button", name="Save and come back later").click()
    page.wait_for_load_state("networkidle")
    group = ApplicationGroup.objects.get(applicant__username="alice", submitted_at__isnull=True)
    assert group.data["business.name"] == "Alice's Noodles"

    page.goto(business_page)  # saved: the page shows the stored answers, no note
    assert page.get_by_label("Business name").input_value() == "Alice's Noodles"
    assert not page.get_by_text(RESTORED).is_visible()
    assert drafts(page) == []


def test_nothing_is_put_back_on_a_page_that_was_saved(page, business_page):
    page.get_by_label("Business name").fill("Alice's Noodles")
    page.get_by_role("button", name="Save and come back later").click()
    page.wait_for_load_state("networkidle")
    page.goto(business_page)
    assert not page.get_by_text(RESTORED).is_visible()
    assert drafts(page) == []


def test_signing_out_drops_the_kept_answers(page, business_page):
    outage(page)
    page.get_by_label("Business name").fill("Alice's Noodles")
    assert len(drafts(page)) == 1
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_load_state("networkidle")
    assert drafts(page) == []
