# ruff: noqa: F811  (the fixtures imported from offers_support are used as arguments)
"""End to end in Chromium: the Public Security Bureau approves the household registration of
Alice's newborn; the portal offers her the childcare allowance (育儿补贴), prefilled. She finds it
in her inbox and on My applications, checks the answers and accepts with one click; the
allowance is then one of her applications. Axe clean on every page."""

from contextlib import nullcontext

import pytest

from tests.support.browser import sign_in
from workflows.models import Application, Offer
from workflows.tests.offers_support import (  # noqa: F401  (fixtures)
    birth_registered,
    demo_catalogue,
    psb_clerk,
    verified_alice,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def no_capture(execute: bool = True):
    return nullcontext()  # transactional test: on-commit work runs as each transaction commits


def test_the_birth_registrations_approval_offers_an_allowance_alice_accepts_with_one_click(
    page, password, verified_alice, psb_clerk, assert_accessible
):
    registration = birth_registered(no_capture, applicant=verified_alice, clerk=psb_clerk)
    assert registration.status == Application.Status.APPROVED
    offer = Offer.objects.get(service__code="childbirth-allowance", status=Offer.Status.OFFERED)

    sign_in(page, "alice", password)
    page.get_by_role("link", name="Inbox").click()
    page.get_by_role("link", name="Offered to you: Claim the childcare allowance").click()
    assert page.get_by_text(f"Because your application {registration.number}").first.is_visible()
    assert_accessible(page)
    page.get_by_role("link", name="See the offer").click()

    # The offer: why, the deadline, and the answers it will send (nothing to type).
    assert page.get_by_role("heading", name="Claim the childcare allowance").is_visible()
    assert page.get_by_text("Accept by").is_visible()
    answers = page.locator(".govuk-summary-list").inner_text()
    assert "Xiaoming Zhang" in answers and "13800138000" in answers and "Alice Wang" in answers
    assert_accessible(page)

    # Also on My applications, with its deadline.
    page.get_by_role("link", name="My applications").first.click()
    offers = page.get_by_role("region", name="Offered to you")
    assert "Claim the childcare allowance" in offers.inner_text()
    assert registration.number in offers.inner_text()
    assert_accessible(page)
    offers.get_by_role("link", name="Claim the childcare allowance").click()

    # One click.
    page.get_by_role("button", name="Accept and apply").click()
    assert page.get_by_text("Thank you. Your application is submitted.").is_visible()
    allowance = Application.objects.get(applicant=verified_alice, service__code="childbirth-allowance")
    assert page.get_by_text(allowance.number).first.is_visible()
    assert_accessible(page)

    # It is one of her applications now, routed to the Health Commission; the offer is answered.
    page.get_by_role("link", name="My applications").first.click()
    assert page.get_by_role("link", name=allowance.number).first.is_visible()
    assert page.get_by_role("region", name="Offered to you").count() == 0
    page.locator(f'a[href="/applications/{allowance.number}/"]').click()
    assert page.get_by_text("Claim the childcare allowance").first.is_visible()
    assert_accessible(page)
    offer.refresh_from_db()
    assert offer.status == Offer.Status.ACCEPTED
