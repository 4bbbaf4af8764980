"""A department administrator runs their staff in Chromium: invites someone by e-mail, suspends a
clerk (after confirming) and resumes them; the invited person creates their account from the
link. axe is clean on the staff page (with an invitation waiting and a suspended member), on the
confirmation page and on the invitation's pages."""

import re

import pytest
from django.core import mail

from accounts.models import Membership, Role, User
from tests.support.browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
NEW_PASSWORD = "a-long-and-unusual-passphrase"


def test_a_department_administrator_invites_and_suspends(
    page, browser, live_server, department_a, clerk_a, market_admin, password, assert_accessible
):
    admin = market_admin
    sign_in(page, admin.username, password)
    page.goto("/accounts/staff/")
    assert page.get_by_role("heading", name="Staff", exact=True).is_visible()

    page.get_by_label("Name", exact=True).fill("Wu Fang")
    page.get_by_label("E-mail address", exact=True).fill("wu.fang@example.org")
    page.get_by_label("Role", exact=True).last.select_option("clerk")
    page.get_by_role("button", name="Send the invitation").click()
    assert page.get_by_text("We have sent Wu Fang an invitation to wu.fang@example.org").is_visible()

    page.get_by_role("link", name="Suspend access — Clerk A").click()
    assert page.get_by_role("heading", name="Suspend Clerk A's access in Market Regulation?").is_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Suspend access").click()
    assert page.get_by_text("Clerk A's access in Market Regulation is suspended.").is_visible()
    clerk_row = page.get_by_role("row").filter(has_text="Clerk A")
    assert clerk_row.get_by_text("Suspended").is_visible()
    invitation_row = page.get_by_role("row").filter(has_text="wu.fang@example.org")
    assert invitation_row.get_by_role("button", name="Withdraw — Wu Fang").is_visible()
    assert_accessible(page)  # an invitation waiting and a suspended member
    assert not clerk_a.memberships.exists()

    page.get_by_role("link", name="Resume access — Clerk A").click()
    page.get_by_role("button", name="Resume access").click()
    assert page.get_by_text("Clerk A's access in Market Regulation is resumed.").is_visible()
    assert clerk_a.memberships.exists()

    # The invited person opens the link in their own browser.
    link = re.search(r"https?://[^/\s]+(/accounts/invitations/\S+/)", mail.outbox[-1].body).group(1)
    context = browser.new_context(base_url=live_server.url, bypass_csp=True, locale="en-GB")
    context.set_default_timeout(15_000)
    stranger = context.new_page()
    try:
        stranger.goto(link)
        assert stranger.get_by_role("heading", name="Invitation to Market Regulation").is_visible()
        assert_accessible(stranger)
        stranger.get_by_role("button", name="Create account and accept").click()
        assert stranger.get_by_role("heading", name="There is a problem").is_visible()
        assert_accessible(stranger)
        stranger.get_by_label("Log-in name").fill("wu.fang")
        stranger.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
        stranger.get_by_label("Confirm password").fill(NEW_PASSWORD)
        stranger.get_by_role("button", name="Create account and accept").click()
        assert stranger.get_by_text("You are now Clerk in Market Regulation.").is_visible()
        stranger.goto(link)
        assert stranger.get_by_role("heading", name="This invitation link does not work").is_visible()
        assert_accessible(stranger)
    finally:
        context.close()
    person = User.objects.get(username="wu.fang")
    assert Membership.objects.filter(user=person, department=department_a, role=Role.CLERK).exists()
