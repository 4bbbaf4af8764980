"""Alice signs in through the demo national eID at `substantial`, finds that the service she is
applying for needs `high`, steps up through the eID from check-your-answers, comes back to her
kept draft and submits — in Chromium, axe clean on the step-up offer."""

import pytest

from accounts.assurance import Level
from tests.support.eid import eid_sign_in
from workflows.apply.actions import draft_start
from workflows.models import Application
from workflows.tests.test_apply_support import build_catalogue, fill_everything, republish_at_level, verify_alice

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_alice_steps_up_to_high_and_submits_her_kept_draft(page, demo_eid_live, alice, assert_accessible):
    catalogue = build_catalogue()
    service = republish_at_level(catalogue.licence, Level.HIGH)
    verify_alice(alice)
    group = draft_start(applicant=alice, service=service)
    fill_everything(group, alice, catalogue)

    eid_sign_in(page, "Alice Wang", "substantial")
    page.goto(f"/applications/{group.pk}/review/")
    offer = page.get_by_role("region", name="Sign in with national eID to submit")
    assert offer.get_by_text("High: national eID and a second factor").is_visible()
    assert page.get_by_role("button", name="Accept and submit").count() == 0
    assert_accessible(page)

    offer.get_by_role("button", name="Sign in with national eID").click()
    eid_sign_in(page, "Alice Wang", "high", start=False)
    assert page.url.endswith(f"/applications/{group.pk}/review/")  # back to the kept draft
    assert page.get_by_role("region", name="Sign in with national eID to submit").count() == 0

    page.get_by_role("button", name="Accept and submit").click()
    page.get_by_role("heading", name="Application submitted").wait_for()
    assert Application.objects.filter(group=group, applicant=alice).count() == 1
