"""Alice runs her own account in Chromium: the account page, a password reset round trip by the
e-mailed link, and signing in with the new password; axe clean on every page of it."""

import re

import pytest
from django.core import mail
from django.core.cache import cache

from accounts.models import VerifiedAttribute
from tests.support.browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
NEW_PASSWORD = "a-new-long-passphrase-2026"


def test_alice_resets_her_password_by_e_mail_and_signs_in(page, alice, password, assert_accessible):
    cache.clear()
    VerifiedAttribute.objects.create(user=alice, element_key="person.full_name", value="Alice Wang", source="identity")
    sign_in(page, "alice", password)
    page.get_by_role("link", name="My account").click()
    assert page.get_by_role("heading", name="Your verified identity").is_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Sign out", exact=True).click()

    page.goto("/accounts/login/")
    page.get_by_role("link", name="Forgotten your password?").click()
    assert_accessible(page)
    page.get_by_label("Email").fill("alice@example.org")
    page.get_by_role("button", name="Send the link").click()
    assert page.get_by_role("heading", name="Check your e-mail").is_visible()
    assert_accessible(page)

    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/\S+/)", mail.outbox[-1].body).group(1)
    page.goto(link)
    assert page.get_by_role("heading", name="Choose a new password").is_visible()
    assert_accessible(page)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password confirmation").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Save the new password").click()
    assert page.get_by_role("heading", name="Your password has been changed").is_visible()
    assert_accessible(page)

    page.goto(link)  # the same link again
    assert page.get_by_role("heading", name="This link no longer works").is_visible()
    sign_in(page, "alice", NEW_PASSWORD)
    assert page.get_by_role("link", name="My account").is_visible()
