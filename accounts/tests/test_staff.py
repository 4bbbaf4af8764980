"""A department administrator gives and takes away roles in their own department only; every
change is recorded (here and in the admin site); everyone else gets 404."""

import pytest
from django.urls import reverse

from accounts.models import Membership, MembershipChange, Role
from accounts.tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_a_department_administrator_gives_a_role_in_their_department(client, market_admin, department_a, bob):
    client.force_login(market_admin)
    page = client.get(reverse("accounts:staff")).content.decode()
    assert "Market Regulation" in page and "Fire and Rescue" not in page
    response = client.post(
        reverse("accounts:staff-grant", args=["market"]), {"person": "bob@example.org", "role": "clerk"}, follow=True
    )
    assert "Bob Li is now Clerk in Market Regulation." in response.content.decode()
    assert Membership.objects.filter(user=bob, department=department_a, role=Role.CLERK).exists()
    bob.refresh_from_db()
    assert bob.is_staff
    change = MembershipChange.objects.get()
    assert (change.actor, change.user, change.action) == (market_admin, bob, MembershipChange.Action.GRANTED)


def test_never_in_another_department(client, market_admin, department_b, bob):
    client.force_login(market_admin)
    response = client.post(reverse("accounts:staff-grant", args=["fire"]), {"person": "bob", "role": "clerk"})
    assert response.status_code == 404
    other = MembershipFactory(user=UserFactory(username="fire.clerk"), department=department_b, role=Role.CLERK)
    assert client.post(reverse("accounts:staff-revoke", args=[other.pk])).status_code == 404
    assert Membership.objects.filter(pk=other.pk).exists()
    assert not Membership.objects.filter(user=bob).exists() and not MembershipChange.objects.exists()


def test_taking_a_role_away_is_recorded_and_ends_the_access(client, market_admin, clerk_a):
    client.force_login(market_admin)
    membership = clerk_a.memberships.get()
    response = client.post(reverse("accounts:staff-revoke", args=[membership.pk]), follow=True)
    assert "is no longer Clerk in Market Regulation" in response.content.decode()
    assert not clerk_a.memberships.exists()
    assert MembershipChange.objects.get().action == MembershipChange.Action.REVOKED
    client.force_login(clerk_a)
    assert client.get(reverse("workflows:workbench")).status_code == 404


def test_bad_input_is_explained_and_changes_nothing(client, market_admin):
    client.force_login(market_admin)
    unknown = client.post(
        reverse("accounts:staff-grant", args=["market"]), {"person": "nobody", "role": "clerk"}, follow=True
    )
    assert "No account uses “nobody”" in unknown.content.decode()
    mine = market_admin.memberships.get()
    own = client.post(reverse("accounts:staff-revoke", args=[mine.pk]), follow=True)
    assert "You cannot take away your own administrator role" in own.content.decode()
    assert Membership.objects.filter(pk=mine.pk).exists() and not MembershipChange.objects.exists()


def test_clerks_citizens_and_strangers_get_404(client, clerk_a, supervisor, alice):
    for person in (clerk_a, supervisor, alice):
        client.force_login(person)
        assert client.get(reverse("accounts:staff")).status_code == 404
        response = client.post(reverse("accounts:staff-grant", args=["market"]), {"person": "bob", "role": "clerk"})
        assert response.status_code == 404
    assert not MembershipChange.objects.exists()


def test_a_membership_set_in_the_admin_is_recorded(client, administrator, department_a, bob):
    client.force_login(administrator)
    response = client.post(
        reverse("admin:accounts_membership_add"), {"user": bob.pk, "department": department_a.pk, "role": "clerk"}
    )
    assert response.status_code == 302
    change = MembershipChange.objects.get()
    assert (change.actor, change.user, change.role) == (administrator, bob, "clerk")
