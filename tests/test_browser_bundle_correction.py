"""In Chromium: Market Regulation, examining her restaurant's business licence, asks Alice to
correct its address and lease; she corrects them once, and the food business permit and the tax
registration (still waiting for the licence) take them too. The market clerk approves the
licence, their routes open, and each clerk's history says so; every page is axe clean."""

from contextlib import nullcontext
from html import unescape

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.demo import DEMO_PASSWORD
from accounts.models import User
from documents.actions import document_upload
from documents.models import DocumentType
from tests.support.browser import sign_in
from tests.support.second_factor import staff_device
from workflows.apply.demo import demo_pdf
from workflows.engine.actions import correction_request, work_item_claim
from workflows.models import Application, ApplicationEvent
from workflows.tests.bundle_support import ADDRESS, NEW_ADDRESS, open_item, seed_demo, submit_restaurant

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MARKET_ASKS = "Corrected in answer to the Market Regulation Administration's request"


def no_capture(execute: bool = True):
    return nullcontext()  # transactional test: on-commit work runs as each transaction commits


def sign_out(page) -> None:
    page.get_by_role("button", name="Sign out", exact=True).click()
    page.wait_for_load_state("networkidle")


@pytest.fixture
def bundle(transactional_db):
    seed_demo()
    for username in ("clerk.market", "clerk.tax"):
        staff_device(User.objects.get(username=username))
    bundle = submit_restaurant(no_capture)
    clerk = User.objects.get(username="clerk.market")
    item = open_item(bundle.licence, "examine")
    work_item_claim(work_item_id=item.pk, clerk=clerk)
    correction_request(
        work_item_id=item.pk,
        actor=clerk,
        fields=["business.address"],
        materials=["lease-agreement"],
        message="The address is not the one on the lease: correct it and send the signed lease.",
    )
    return bundle.refresh()


def history_of(page) -> str:
    return unescape(page.locator("#history ~ div table").inner_text())


def test_one_correction_updates_all_three_restaurant_applications(page, bundle, assert_accessible):
    alice = User.objects.get(username="alice")
    lease = document_upload(
        owner=alice,
        document_type=DocumentType.objects.get(code="lease-agreement"),
        uploaded_file=SimpleUploadedFile(
            "lease-12-gulou.pdf", demo_pdf("Lease, 12 Gulou Street", alice.name), content_type="application/pdf"
        ),
    )
    sign_in(page, "alice", DEMO_PASSWORD)

    # The bundle page leads to the correction; the correction page says where it will go.
    page.goto(f"/applications/bundles/{bundle.group.number}/")
    page.get_by_role("link", name=f"Correct your application {bundle.licence.number}").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("heading", name="Correct your application").is_visible()
    reach = page.locator("#bundle-reach").inner_text()
    assert bundle.food.number in reach and bundle.tax.number in reach
    assert_accessible(page)
    page.get_by_label("Business premises address").fill(NEW_ADDRESS)
    page.locator("select[name='document-lease-agreement']").select_option(str(lease.pk))
    page.get_by_role("button", name="Send corrections").click()
    page.wait_for_load_state("networkidle")

    # The confirmation: corrected once, in all three.
    assert page.get_by_role("heading", name="Corrections sent").is_visible()
    updated = page.locator("#bundle-updated").inner_text()
    assert bundle.food.number in updated and bundle.tax.number in updated
    assert page.locator("#bundle-finished").count() == 0
    assert_accessible(page)
    for application in (bundle.licence, bundle.food, bundle.tax):
        application.refresh_from_db()
        assert application.data["business.address"] == NEW_ADDRESS != ADDRESS
        assert application.status == Application.Status.IN_PROGRESS
    for sibling in (bundle.food, bundle.tax):
        assert sibling.waiting_for == ["business-licence"] and not sibling.work_items.exists()
    sign_out(page)

    # Market Regulation: the licence it asked about, which the clerk now approves; then the food
    # permit, whose route that approval opened, with the answer it took meanwhile.
    sign_in(page, "clerk.market", DEMO_PASSWORD)
    page.goto(f"/workbench/items/{open_item(bundle.licence, 'examine').pk}/")
    assert page.locator("#value-businessaddress").inner_text() == NEW_ADDRESS
    assert "Correction answered" in history_of(page)
    assert_accessible(page)
    page.get_by_label("Approve this step").check()
    page.get_by_role("button", name="Record the decision").click()
    assert page.get_by_text(f"You approved {bundle.licence.number}.").is_visible()
    for application in (bundle.licence, bundle.food, bundle.tax):
        application.refresh_from_db()
    assert bundle.licence.status == Application.Status.APPROVED
    for sibling in (bundle.food, bundle.tax):
        assert (
            sibling.waiting_for == []
            and sibling.data["business.credit_code"] == bundle.licence.data["business.credit_code"]
        )
        assert sibling.data["business.address"] == NEW_ADDRESS  # the delivery kept the correction
    page.goto(f"/workbench/items/{open_item(bundle.food, 'examine').pk}/")
    assert page.locator("#value-businessaddress").inner_text() == NEW_ADDRESS
    history = history_of(page)
    assert MARKET_ASKS in history
    assert "Business premises address" in history and "Lease agreement for the premises" in history
    assert_accessible(page)
    sign_out(page)

    # The Taxation Bureau: the answer, not the lease (tax does not use it).
    sign_in(page, "clerk.tax", DEMO_PASSWORD)
    page.goto(f"/workbench/items/{open_item(bundle.tax, 'confirm').pk}/")
    assert page.locator("#value-businessaddress").inner_text() == NEW_ADDRESS
    history = history_of(page)
    assert MARKET_ASKS in history
    assert "Business premises address" in history and "Lease agreement" not in history
    assert_accessible(page)
    assert ApplicationEvent.objects.filter(kind=ApplicationEvent.Kind.CORRECTED_IN_BUNDLE).count() == 2
