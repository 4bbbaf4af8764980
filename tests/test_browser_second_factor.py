"""End to end in Chromium: a new clerk cannot open the workbench until they add a passkey
(Chromium's virtual authenticator, over the DevTools protocol), then opens it; signing in
again asks for the passkey. The page runs under the portal's real content security policy
(no bypass): the passkey scripts are ours, served from django-otp-webauthn's static files.
The security, enrolment and verification pages are axe clean."""

import pytest
from django_otp_webauthn.models import WebAuthnCredential

from accounts.models import Role, SecondFactorChange
from accounts.tests.factories import MembershipFactory, UserFactory
from tests.support.browser import axe_violations, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def new_clerk(department_a):
    user = UserFactory(username="clerk.new", display_name="New Clerk", is_staff=True)
    MembershipFactory(user=user, department=department_a, role=Role.CLERK)
    return user


@pytest.fixture
def strict_page(browser, live_server, settings):
    """A page that keeps the content security policy, with a virtual platform authenticator."""
    assert live_server.url.startswith("http://localhost:")  # passkeys belong to the host name
    settings.OTP_WEBAUTHN_RP_ID = "localhost"
    settings.OTP_WEBAUTHN_ALLOWED_ORIGINS = [live_server.url]
    context = browser.new_context(base_url=live_server.url, locale="en-GB")
    context.set_default_timeout(15_000)
    page = context.new_page()
    refusals: list[str] = []
    page.on("console", lambda m: refusals.append(m.text) if "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda error: refusals.append(f"script-src error: {error}"))
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    page.csp_refusals = refusals
    yield page
    context.close()


def assert_clean(page) -> None:
    violations = axe_violations(page)
    assert violations == [], f"axe found accessibility problems on {page.url}: {violations}"


def test_a_clerk_adds_a_passkey_before_the_workbench_and_signs_in_with_it(strict_page, new_clerk, password):
    page = strict_page
    sign_in(page, "clerk.new", password)

    # Staff land on their workbench, which sends them to add a second factor first.
    assert "/accounts/security/" in page.url and "next=%2Fworkbench%2F" in page.url
    assert page.get_by_text("Add a second factor to continue").is_visible()
    page.goto("/workbench/")
    assert "/accounts/security/" in page.url
    assert_clean(page)

    page.get_by_role("button", name="Add a passkey").click()
    page.wait_for_url("**/workbench/")
    assert page.get_by_role("heading", name="Workbench").is_visible()
    credential = WebAuthnCredential.objects.get(user=new_clerk)
    assert credential.confirmed
    assert SecondFactorChange.objects.filter(user=new_clerk, kind="passkey", action="added").exists()

    # The security page lists it; adding an app shows its QR code and key (axe on both).
    page.goto("/accounts/security/")
    assert page.get_by_text("Passkey", exact=True).first.is_visible()
    assert_clean(page)
    page.get_by_role("button", name="Add an authenticator app").click()
    assert page.get_by_role("img", name="QR code to scan with your authenticator app").is_visible()
    assert_clean(page)

    # Signed out and in again: the passkey is asked for before anything else.
    page.get_by_role("button", name="Sign out", exact=True).first.click()
    page.wait_for_load_state("networkidle")
    sign_in(page, "clerk.new", password)
    assert "/accounts/verify/" in page.url
    page.goto("/workbench/")
    assert "/accounts/verify/" in page.url
    assert_clean(page)
    page.get_by_role("button", name="Use a passkey").click()
    page.wait_for_url("**/workbench/")
    assert page.get_by_role("heading", name="Workbench").is_visible()
    credential.refresh_from_db()
    assert credential.last_used_at is not None
    # No script was refused: the passkey scripts and their catalogue run under the policy.
    assert [m for m in page.csp_refusals if "script-src" in m] == []
