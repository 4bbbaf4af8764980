"""Inviting someone to a department by e-mail: the link works once, for 7 days, for the address it
was sent to; a person without an account creates one from it; every step is recorded; only the
department's administrators (and the portal's) may invite or withdraw."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts.invitations import token_hash
from accounts.models import Invitation, Membership, MembershipChange, User
from accounts.tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-long-and-unusual-passphrase"


def invite(client, admin, *, email="wu.fang@example.org", name="Wu Fang", role="clerk", code="market"):
    client.force_login(admin)
    response = client.post(
        reverse("accounts:staff-invite", args=[code]), {"name": name, "email": email, "role": role}, follow=True
    )
    client.logout()
    return response


def link_token() -> str:
    [message] = mail.outbox[-1:]
    match = re.search(r"/accounts/invitations/([^/\s]+)/", message.body)
    assert match, message.body
    return match.group(1)


def test_an_invited_stranger_creates_an_account_and_gets_the_role(client, market_admin, department_a):
    response = invite(client, market_admin)
    assert "We have sent Wu Fang an invitation to wu.fang@example.org" in response.content.decode()
    [message] = mail.outbox
    assert message.to == ["wu.fang@example.org"] and "Market Regulation" in message.subject
    token = link_token()
    invitation = Invitation.objects.get()
    # Only the hash is stored: the table cannot be turned into links.
    assert invitation.token_hash == token_hash(token) and token not in invitation.token_hash
    assert abs(invitation.expires_at - invitation.created_at - timedelta(days=7)) < timedelta(seconds=1)

    url = reverse("accounts:invitation", args=[token])
    page = client.get(url)
    assert page.status_code == 200
    assert "Create your account to accept" in page.content.decode()
    response = client.post(url, {"username": "wu.fang", "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    assert response.status_code == 302
    person = User.objects.get(username="wu.fang")
    assert person.email == "wu.fang@example.org" and person.display_name == "Wu Fang"
    assert person.email_verified_at is not None and person.is_staff and person.check_password(NEW_PASSWORD)
    assert client.session[SESSION_KEY] == str(person.pk)
    assert list(person.memberships.values_list("department__code", "role")) == [("market", "clerk")]
    # The new clerk's first stop is adding a second factor; then the workbench opens.
    response = client.get(reverse("workflows:workbench"))
    assert response.status_code == 302 and response["Location"].startswith("/accounts/security/")
    actions = list(MembershipChange.objects.order_by("pk").values_list("action", "actor", "user"))
    assert actions == [
        (MembershipChange.Action.INVITED, market_admin.pk, None),
        (MembershipChange.Action.INVITATION_ACCEPTED, person.pk, person.pk),
    ]
    # Single use: the same link again grants nothing and says so.
    client.logout()
    again = client.get(url)
    assert again.status_code == 410 and "already been accepted" in again.content.decode()
    assert (
        client.post(url, {"username": "other", "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}).status_code
        == 410
    )
    assert not User.objects.filter(username="other").exists()


def test_the_new_account_form_explains_bad_input(client, market_admin, bob):
    invite(client, market_admin)
    url = reverse("accounts:invitation", args=[link_token()])
    weak = client.post(url, {"username": "bob", "password": "123", "password_confirm": "124"})
    assert weak.status_code == 400
    page = weak.content.decode()
    assert "This log-in name is taken" in page
    assert "The two passwords do not match" in page
    assert "too short" in page
    bad_name = client.post(url, {"username": "wu fang!", "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    assert bad_name.status_code == 400 and "Use only letters, digits" in bad_name.content.decode()
    assert not Membership.all_objects.filter(department__code="market", role="clerk").exists()
    assert Invitation.objects.get().accepted_at is None


def test_an_existing_account_signs_in_then_accepts(client, market_admin, bob, department_a):
    invite(client, market_admin, email="BOB@example.org", name="Bob Li")
    url = reverse("accounts:invitation", args=[link_token()])
    page = client.get(url).content.decode()
    assert "An account already uses BOB@example.org" in page and "Sign in to accept" in page
    # Not signed in, the account is not created nor given anything.
    assert (
        client.post(url, {"username": "x", "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}).status_code
        == 200
    )
    assert not bob.memberships.exists()
    client.force_login(bob)
    assert "Accept the invitation" in client.get(url).content.decode()
    response = client.post(url, follow=True)
    assert "You are now Clerk in Market Regulation." in response.content.decode()
    assert list(bob.memberships.values_list("role", flat=True)) == ["clerk"]
    bob.refresh_from_db()
    assert bob.is_staff and bob.email_verified_at is not None


def test_a_signed_in_account_with_another_address_is_refused(client, market_admin, alice):
    invite(client, market_admin)
    url = reverse("accounts:invitation", args=[link_token()])
    client.force_login(alice)
    page = client.get(url)
    assert page.status_code == 403
    assert (
        "This invitation was sent to wu.fang@example.org, but you are signed in with another" in page.content.decode()
    )
    assert client.post(url).status_code == 403
    assert not alice.memberships.exists() and Invitation.objects.get().accepted_at is None


def test_expired_withdrawn_and_unknown_links_grant_nothing(client, market_admin):
    invite(client, market_admin)
    expired_url = reverse("accounts:invitation", args=[link_token()])
    invite(client, market_admin, email="second@example.org", name="Second")
    withdrawn_url = reverse("accounts:invitation", args=[link_token()])
    withdrawn = Invitation.objects.get(email="second@example.org")

    client.force_login(market_admin)
    response = client.post(reverse("accounts:staff-invitation-withdraw", args=[withdrawn.pk]), follow=True)
    assert "The invitation to second@example.org is withdrawn" in response.content.decode()
    again = client.post(reverse("accounts:staff-invitation-withdraw", args=[withdrawn.pk]), follow=True)
    assert "no longer waiting" in again.content.decode()
    client.logout()

    gone = client.get(withdrawn_url)
    assert gone.status_code == 410 and "This invitation was withdrawn" in gone.content.decode()
    with time_machine.travel(timezone.now() + timedelta(days=7, minutes=1)):
        page = client.get(expired_url)
        assert page.status_code == 410 and "This invitation expired" in page.content.decode()
        form = {"username": "late", "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}
        assert client.post(expired_url, form).status_code == 410
    unknown = client.get(reverse("accounts:invitation", args=["no-such-token"]))
    assert unknown.status_code == 404 and "We do not know this link" in unknown.content.decode()
    assert not User.objects.filter(username="late").exists()
    assert list(MembershipChange.objects.order_by("pk").values_list("action", flat=True)) == [
        MembershipChange.Action.INVITED,
        MembershipChange.Action.INVITED,
        MembershipChange.Action.INVITATION_WITHDRAWN,
    ]


def test_the_staff_page_lists_pending_invitations(client, market_admin):
    invite(client, market_admin)
    client.force_login(market_admin)
    page = client.get(reverse("accounts:staff")).content.decode()
    assert "Invitations waiting for an answer" in page
    assert "wu.fang@example.org" in page and "Withdraw" in page
    assert "Invited: Wu Fang (wu.fang@example.org), Clerk, Market Regulation (by Market Admin)" in page


def test_bad_invitations_are_explained_and_change_nothing(client, market_admin, clerk_a):
    for form, message in (
        ({"name": "", "email": "a@example.org", "role": "clerk"}, "Enter the person&#x27;s name."),
        ({"name": "A", "email": "not-an-address", "role": "clerk"}, "Enter an e-mail address in the right format"),
        ({"name": "A", "email": "a@example.org", "role": "king"}, "Choose a role."),
        ({"name": "A", "email": "clerk.a@example.org", "role": "clerk"}, "already has this role here"),
    ):
        client.force_login(market_admin)
        response = client.post(reverse("accounts:staff-invite", args=["market"]), form, follow=True)
        assert message in response.content.decode(), form
    assert not Invitation.objects.exists() and not mail.outbox
    invite(client, market_admin)
    duplicate = invite(client, market_admin)
    assert "already has an invitation for this role waiting" in duplicate.content.decode()
    assert Invitation.objects.count() == 1


def test_invitations_to_one_address_are_rate_limited(client, market_admin):
    for role in ("clerk", "supervisor", "counter_clerk"):
        invite(client, market_admin, role=role)
    limited = invite(client, market_admin, role="department_admin")
    assert "Too many invitations were sent in the last hour" in limited.content.decode()
    assert Invitation.objects.count() == 3 and len(mail.outbox) == 3


def test_outsiders_cannot_invite_or_withdraw(client, market_admin, fire_admin, clerk_a, supervisor, alice):
    invite(client, market_admin)
    invitation = Invitation.objects.get()
    for outsider in (fire_admin, clerk_a, supervisor, alice):
        client.force_login(outsider)
        form = {"name": "Mallory", "email": "mallory@example.org", "role": "department_admin"}
        assert client.post(reverse("accounts:staff-invite", args=["market"]), form).status_code == 404
        assert client.post(reverse("accounts:staff-invitation-withdraw", args=[invitation.pk])).status_code == 404
    # The fire administrator manages their own department only.
    client.force_login(fire_admin)
    assert (
        client.post(
            reverse("accounts:staff-invite", args=["fire"]), {"name": "F", "email": "f@example.org", "role": "clerk"}
        ).status_code
        == 302
    )
    assert not Invitation.objects.filter(email="mallory@example.org").exists()
    assert Invitation.objects.get(pk=invitation.pk).withdrawn_at is None


def test_a_portal_administrator_invites_to_any_department(client, administrator, department_b):
    response = invite(client, administrator, code="fire")
    assert "We have sent Wu Fang an invitation" in response.content.decode()
    assert Invitation.objects.get().department == department_b


def test_sign_in_then_accept_round_trip_through_the_login_page(client, market_admin, bob, password):
    assert password == PASSWORD
    invite(client, market_admin, email="bob@example.org", name="Bob Li")
    url = reverse("accounts:invitation", args=[link_token()])
    login_url = reverse("accounts:login")
    response = client.post(f"{login_url}?next={url}", {"username": "bob", "password": PASSWORD, "next": url})
    assert response.status_code == 302 and response["Location"] == url
    client.post(url)
    assert bob.memberships.filter(role="clerk", department__code="market").exists()
