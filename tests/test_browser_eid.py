"""Alice signs in through the demo national eID in Chromium: from the sign-in page, at
`substantial`, and lands signed in to her own account; axe clean on the sign-in page and on the
demo eID's page."""

from importlib import import_module

import pytest
from django.conf import settings

from accounts.assurance import SESSION_ASSURANCE_KEY
from accounts.demo import ALICE_VERIFIED
from accounts.models import EidIdentity, SignIn, VerifiedAttribute
from tests.support.eid import eid_sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_alice_signs_in_with_the_demo_eid_at_substantial(page, demo_eid_live, alice, assert_accessible):
    VerifiedAttribute.objects.create(
        user=alice, element_key="person.id_number", value=ALICE_VERIFIED["person.id_number"], source="identity"
    )
    page.goto("/accounts/login/")
    assert page.get_by_role("button", name="Sign in with national eID").is_visible()
    assert_accessible(page)

    page.get_by_role("button", name="Sign in with national eID").click()
    page.get_by_role("heading", name="Prove who you are").wait_for()
    assert_accessible(page)
    eid_sign_in(page, "Alice Wang", "substantial", start=False)

    assert page.get_by_text("You are signed in with your national eID.").is_visible()
    assert page.get_by_role("button", name="Sign out", exact=True).is_visible()
    link = EidIdentity.objects.get()
    assert link.user == alice and link.subject == "demo-0001"
    assert SignIn.objects.filter(user=alice).count() == 1
    cookie = next(c for c in page.context.cookies() if c["name"] == settings.SESSION_COOKIE_NAME)
    session = import_module(settings.SESSION_ENGINE).SessionStore(session_key=cookie["value"])
    assert session[SESSION_ASSURANCE_KEY]["level"] == "substantial"


def test_a_wrong_choice_on_the_demo_eid_page_is_explained(page, demo_eid_live, assert_accessible):
    page.goto("/accounts/login/")
    page.get_by_role("button", name="Sign in with national eID").click()
    page.get_by_role("button", name="Continue").click()
    assert page.get_by_text("Choose the person to sign in as").first.is_visible()
    assert_accessible(page)
