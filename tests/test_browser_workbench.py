"""End to end in Chromium: a clerk claims Alice's application, asks for a correction, Alice
fixes it, the clerk approves, the certificate lands in Alice's vault and verifies publicly;
the department revokes it and the check says so. Every workbench page is axe clean."""

import re

import pytest

from documents.models import Certificate
from tests.support.browser import sign_in
from workflows.models import Application, DataAccessRecord
from workflows.tests.test_workbench_support import routed_application, step, version_with

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LICENCE_AND_CERTIFICATE = {
    "steps": [
        {"key": "licence", "department": "market", "kind": "review", "sla_days": 5, "label_en": "Licence review"},
        {
            "key": "issue",
            "department": "market",
            "kind": "issue",
            "document_type": "food-business-licence",
            "after": ["licence"],
        },
    ]
}


def sign_out(page) -> None:
    page.get_by_role("button", name="Sign out", exact=True).click()
    page.wait_for_load_state("networkidle")


@pytest.fixture
def application(alice, clerk_a, supervisor, department_a, department_b):
    return routed_application(
        applicant=alice, version=version_with(LICENCE_AND_CERTIFICATE), **{"business.name": "Noodel House"}
    )


def test_claim_correct_approve_certificate(page, password, application, assert_accessible):
    item = step(application)
    sign_in(page, "clerk.a", password)

    # The queue: claim without a page reload (htmx swaps the row).
    page.get_by_role("link", name="Workbench").click()
    assert page.get_by_role("heading", name="Workbench").is_visible()
    assert_accessible(page)
    page.evaluate("window.__notReloaded = true")
    row = page.locator(f"#item-{item.pk}")
    assert "110105********002X" in row.inner_text()
    row.get_by_role("button", name=f"Claim {application.number}").click()
    page.locator(f"#item-{item.pk}").get_by_text(f"You have claimed {application.number}.").wait_for()
    assert page.evaluate("window.__notReloaded === true")
    assert page.locator(f"#item-{item.pk}").get_by_role("button", name=f"Release {application.number}").is_visible()
    assert_accessible(page)

    # The work item page: masked data, reveal (recorded), then one correction request.
    page.get_by_role("link", name=application.number).click()
    assert page.get_by_role("heading", name=application.number).is_visible()
    assert page.get_by_text("110105********002X", exact=True).is_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Reveal Resident ID number").click()
    page.get_by_text("11010519491231002X").wait_for()
    assert DataAccessRecord.objects.filter(what=DataAccessRecord.What.REVEAL_FIELD).count() == 1

    page.get_by_role("button", name="Send the correction request").click()
    assert page.get_by_text("There is a problem").is_visible()  # nothing picked, nothing written
    assert_accessible(page)
    page.get_by_role("group", name="Answers to correct").get_by_label("Business name").check()
    page.get_by_label("Message to the applicant").fill("The business name is misspelt: check it against the lease.")
    page.get_by_role("button", name="Send the correction request").click()
    assert page.get_by_text("The statutory clock is stopped").is_visible()
    assert page.get_by_text("Clock stopped").is_visible()
    assert_accessible(page)
    sign_out(page)

    # Alice corrects only the business name.
    sign_in(page, "alice", password)
    page.goto(f"/applications/{application.number}/correction/")
    page.get_by_label("Business name").fill("Noodle House")
    page.get_by_role("button", name="Send corrections").click()
    assert page.get_by_text("Your corrections are sent").is_visible()
    sign_out(page)

    # The clerk approves; the issue step puts the certificate into Alice's vault.
    sign_in(page, "clerk.a", password)
    page.goto(f"/workbench/items/{item.pk}/")
    assert page.locator("#value-businessname").inner_text() == "Noodle House"
    # What the correction changed, before the decision form; the history tells each event once.
    changes = page.locator("#changes")
    assert changes.get_by_role("heading", name="What changed since the last round").is_visible()
    changed = changes.get_by_test_id("changed-answers")
    assert changed.get_by_text("Business name").is_visible()
    assert changed.locator("del").inner_text() == "Noodel House"
    assert changed.locator("ins").inner_text() == "Noodle House"
    assert changes.get_by_text("The business name is misspelt: check it against the lease.").is_visible()
    above = page.evaluate(
        """() => {
            const follows = (a, b) => !!(document.querySelector(a).compareDocumentPosition(document.querySelector(b))
                & Node.DOCUMENT_POSITION_FOLLOWING);
            return follows('#changes', '#actions') && follows('#documents', '#actions');
        }"""
    )
    assert above, "the evidence (changes, answers, documents) comes before the decision form"
    history = [row.inner_text() for row in page.locator("#history ~ div table tbody tr").all()]
    assert len(history) == len(set(history)), history
    assert sum("correction" in row.lower() for row in history) == 2, history  # asked, answered
    assert_accessible(page)
    page.get_by_label("Approve this step").check()
    page.get_by_role("button", name="Record the decision").click()
    assert page.get_by_text(f"You approved {application.number}.").is_visible()
    application.refresh_from_db()
    assert application.status == Application.Status.APPROVED
    certificate = Certificate.objects.get(application_number=application.number)
    page.reload()
    assert page.get_by_role("heading", name="Certificates").is_visible()
    assert_accessible(page)
    sign_out(page)

    sign_in(page, "alice", password)
    page.goto("/vault/")
    assert page.get_by_role("link", name=f"Food business licence {application.number}.pdf", exact=True).is_visible()
    page.goto(f"/verify/{certificate.verification_code}/")
    assert page.get_by_role("heading", name="This certificate is valid").is_visible()
    assert page.get_by_text("Market Regulation").is_visible()
    sign_out(page)

    # The department revokes it from the work item page; the public check shows it.
    sign_in(page, "supervisor.a", password)
    page.goto(f"/workbench/items/{item.pk}/")
    page.get_by_text("Revoke this certificate").click()
    page.get_by_label("Reason for revoking the certificate").fill("Issued on a misspelt name.")
    page.get_by_role("button", name="Revoke").click()
    assert page.get_by_text("The certificate has been revoked").is_visible()
    page.goto(f"/verify/{certificate.verification_code}/")
    assert page.get_by_role("heading", name="This certificate has been revoked").is_visible()


def test_supervision_and_counter_pages_are_accessible(page, password, application, assert_accessible, alice):
    alice.resident_id = "11010519491231002X"
    alice.save(update_fields=["resident_id"])
    sign_in(page, "supervisor.a", password)
    page.goto("/workbench/supervision/")
    assert page.get_by_role("heading", name="Supervision", exact=True).is_visible()
    assert_accessible(page)
    page.goto("/workbench/counter/")
    assert_accessible(page)
    # The in-person identity check, with its errors shown, is accessible too.
    page.get_by_role("link", name="check an identity card").click()
    page.get_by_role("button", name="Record the verified identity").click()
    assert page.get_by_text("There is a problem").is_visible()
    assert_accessible(page)
    page.get_by_role("link", name="Back to the counter").click()
    page.get_by_role("button", name="Start the application").click()
    assert page.get_by_text("There is a problem").is_visible()
    assert_accessible(page)
    page.get_by_label("Identity document shown").select_option("resident_id_card")
    page.get_by_label("Number of the identity document").fill("11010519491231002X")
    page.get_by_label("I have checked the identity document in person").check()
    page.get_by_label("Resident ID number of the person at the counter").fill("11010519491231002X")
    page.get_by_label("Service or life event").select_option(f"service:{application.service.code}")
    page.get_by_label("The person has agreed").check()
    page.get_by_role("button", name="Start the application").click()
    assert re.search(r"/workbench/counter/\d+/$", page.url)
    assert page.get_by_text("Filing at the counter for Alice Wang").is_visible()
    assert_accessible(page)


def test_a_transfer_the_route_does_not_name_is_approved_by_the_supervisor(
    page, password, application, assert_accessible
):
    item = step(application)
    sign_in(page, "clerk.a", password)
    page.goto(f"/workbench/items/{item.pk}/")
    page.get_by_role("button", name="Claim").first.click()
    page.get_by_text("Transfer to another department").click()
    assert page.get_by_text("so a transfer needs a supervisor's approval").is_visible()
    page.get_by_label("Transfer to").select_option(label="Fire and Rescue Department")
    page.get_by_label("Why it goes there").fill("The premises are a fire risk first.")
    page.get_by_role("button", name="Transfer", exact=True).click()
    assert page.get_by_text("a supervisor must approve the transfer").is_visible()
    assert page.get_by_text("The step stays with you until a supervisor decides.").is_visible()
    assert_accessible(page)
    sign_out(page)

    sign_in(page, "supervisor.a", password)
    page.goto("/workbench/supervision/")
    assert page.get_by_text("The premises are a fire risk first.").is_visible()
    assert_accessible(page)
    page.get_by_role("button", name=f"Approve the transfer {application.number}").click()
    assert page.get_by_text(f"{application.number} has been transferred to Fire and Rescue Department.").is_visible()
    assert page.get_by_text("No transfers are waiting for approval.").is_visible()
    moved = step(application)
    assert moved.department.code == "fire" and moved.round == 2
