"""Staff access follows the memberships exactly: a suspended person's roles in that department give
nothing (pages and API alike) until resumed, their other departments are untouched; and a
membership added in the admin site gives the access it names, and nothing more."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import Membership, MembershipChange, Role, User
from accounts.tests.factories import MembershipFactory, UserFactory
from workflows.tests.test_workbench_support import attach_lease, routed_application, step, version_with

pytestmark = pytest.mark.django_db

FIRE_REVIEW = {"steps": [{"key": "licence", "department": "fire", "kind": "review", "sla_days": 5}]}


@pytest.fixture
def market_item(alice, department_a, department_b):
    return step(routed_application(applicant=alice, version=version_with()))


@pytest.fixture
def fire_item(alice, department_a, department_b):
    return step(routed_application(applicant=alice, version=version_with(FIRE_REVIEW)))


def api_for(user: User) -> APIClient:
    """An API client of `user`, loaded afresh as every real request loads its user: a user
    object reads its memberships once (`User.active_memberships`), so one kept from before a
    suspension would still hold the role."""
    api = APIClient()
    api.force_authenticate(User.objects.get(pk=user.pk))
    return api


def queue_ids(api: APIClient) -> list[int] | None:
    response = api.get("/api/workbench/items/")
    if response.status_code == 404:
        return None
    assert response.status_code == 200
    return [row["id"] for row in response.json()["results"]]


def suspend(client, admin, person, code="market", verb="suspend"):
    client.force_login(admin)
    url = reverse(f"accounts:staff-{verb}", args=[code, person.pk])
    return client.get(url), client.post(url, follow=True)


def test_a_suspended_clerk_reaches_nothing_of_that_department_until_resumed(
    client, market_admin, clerk_a, department_b, market_item, fire_item
):
    # Clerk A also works for Fire and Rescue: that role must stay.
    MembershipFactory(user=clerk_a, department=department_b, role=Role.CLERK)
    document = attach_lease(market_item.application)
    item_url = f"/workbench/items/{market_item.pk}/"
    assert sorted(queue_ids(api_for(clerk_a)) or []) == sorted([market_item.pk, fire_item.pk])

    confirm, done = suspend(client, market_admin, clerk_a)
    assert (
        confirm.status_code == 200
        and "Suspend Clerk A's access in Market Regulation Administration?" in confirm.content.decode()
    )
    assert "Clerk A&#x27;s access in Market Regulation Administration is suspended." in done.content.decode()
    assert "Suspended" in done.content.decode()

    client.force_login(clerk_a)
    assert client.get(item_url).status_code == 404
    assert client.get(f"{item_url}documents/{document.pk}/").status_code == 404
    assert client.post(f"{item_url}claim/").status_code == 404
    queue = client.get(reverse("workflows:workbench"))
    assert queue.status_code == 200  # the Fire and Rescue queue
    assert market_item.application.number not in queue.content.decode()
    assert fire_item.application.number in queue.content.decode()
    api = api_for(clerk_a)
    assert queue_ids(api) == [fire_item.pk]
    assert api.post(f"/api/workbench/items/{market_item.pk}/claim/").status_code == 404
    assert api.post(f"/api/workbench/items/{fire_item.pk}/claim/").status_code == 200
    assert list(clerk_a.memberships.values_list("department__code", flat=True)) == ["fire"]

    _, done = suspend(client, market_admin, clerk_a, verb="resume")
    assert "Clerk A&#x27;s access in Market Regulation Administration is resumed." in done.content.decode()
    client.force_login(clerk_a)
    assert client.get(item_url).status_code == 200
    assert market_item.pk in (queue_ids(api_for(clerk_a)) or [])
    actions = list(MembershipChange.objects.order_by("pk").values_list("action", "actor", "user", "department__code"))
    assert actions == [
        (MembershipChange.Action.SUSPENDED, market_admin.pk, clerk_a.pk, "market"),
        (MembershipChange.Action.RESUMED, market_admin.pk, clerk_a.pk, "market"),
    ]


def test_a_clerk_of_one_department_only_has_an_empty_workbench_when_suspended(
    client, market_admin, clerk_a, market_item
):
    suspend(client, market_admin, clerk_a)
    client.force_login(clerk_a)
    assert client.get(reverse("workflows:workbench")).status_code == 404
    assert client.get(f"/workbench/items/{market_item.pk}/").status_code == 404
    assert queue_ids(api_for(clerk_a)) is None  # 404: no department at all


def test_a_suspended_supervisor_and_administrator_lose_supervision_and_staff_management(
    client, market_admin, supervisor, department_a
):
    second_admin = MembershipFactory(
        user=UserFactory(username="admin2", is_staff=True), department=department_a, role=Role.DEPARTMENT_ADMIN
    ).user
    dashboard = reverse("workflows-api:supervision-dashboard")
    client.force_login(supervisor)
    assert client.get(reverse("workflows:workbench-supervision")).status_code == 200
    assert client.get(dashboard).status_code == 200
    suspend(client, market_admin, supervisor)
    client.force_login(supervisor)
    assert client.get(reverse("workflows:workbench-supervision")).status_code == 404
    assert client.get(dashboard).status_code == 404

    suspend(client, market_admin, second_admin)
    client.force_login(second_admin)
    assert client.get(reverse("accounts:staff")).status_code == 404
    assert client.post(reverse("accounts:staff-resume", args=["market", second_admin.pk])).status_code == 404
    assert Membership.all_objects.get(user=second_admin).suspended_at is not None


def test_the_staff_page_shows_the_suspended_person_and_refuses_new_roles_until_resumed(client, market_admin, clerk_a):
    suspend(client, market_admin, clerk_a)
    client.force_login(market_admin)
    page = client.get(reverse("accounts:staff")).content.decode()
    assert "Clerk A" in page and "Resume access" in page
    response = client.post(
        reverse("accounts:staff-grant", args=["market"]), {"person": "clerk.a", "role": "supervisor"}, follow=True
    )
    assert "access here is suspended. Resume it first" in response.content.decode()
    again = client.post(reverse("accounts:staff-suspend", args=["market", clerk_a.pk]), follow=True)
    assert "already suspended" in again.content.decode()
    # Taking a suspended role away still works (and is recorded).
    membership = Membership.all_objects.get(user=clerk_a)
    assert client.post(reverse("accounts:staff-revoke", args=[membership.pk])).status_code == 302
    assert not Membership.all_objects.filter(user=clerk_a).exists()


def test_no_one_suspends_themselves(client, market_admin):
    client.force_login(market_admin)
    response = client.post(reverse("accounts:staff-suspend", args=["market", market_admin.pk]), follow=True)
    assert "You cannot suspend your own access" in response.content.decode()
    assert market_admin.memberships.exists()


def test_outsiders_cannot_suspend_or_resume(client, fire_admin, clerk_b, supervisor, alice, clerk_a, market_item):
    for outsider in (fire_admin, clerk_b, supervisor, alice):
        client.force_login(outsider)
        for verb in ("suspend", "resume"):
            url = reverse(f"accounts:staff-{verb}", args=["market", clerk_a.pk])
            assert client.get(url).status_code == 404
            assert client.post(url).status_code == 404
    # The fire administrator cannot reach a market clerk through their own department either.
    client.force_login(fire_admin)
    assert client.post(reverse("accounts:staff-suspend", args=["fire", clerk_a.pk])).status_code == 404
    assert not Membership.all_objects.filter(suspended_at__isnull=False).exists()
    assert not MembershipChange.objects.exists()


# --- A membership added in the admin ------------------------------------------------------------


def test_a_membership_added_in_the_admin_gives_the_access_it_names_and_nothing_more(
    client, administrator, bob, department_a, department_b, market_item, fire_item
):
    client.force_login(bob)
    assert client.get(reverse("workflows:workbench")).status_code == 404

    client.force_login(administrator)
    response = client.post(
        reverse("admin:accounts_membership_add"), {"user": bob.pk, "department": department_a.pk, "role": "clerk"}
    )
    assert response.status_code == 302
    change = MembershipChange.objects.get()
    assert (change.actor, change.user, change.department, change.role, change.action) == (
        administrator,
        bob,
        department_a,
        "clerk",
        MembershipChange.Action.GRANTED,
    )

    client.force_login(bob)
    # Clerk in Market Regulation: its queue and its work items ...
    queue = client.get(reverse("workflows:workbench"))
    assert queue.status_code == 200 and market_item.application.number in queue.content.decode()
    assert client.get(f"/workbench/items/{market_item.pk}/").status_code == 200
    assert queue_ids(api_for(bob)) == [market_item.pk]
    # ... and nothing of Fire and Rescue, no supervision, no staff management, no admin models.
    assert fire_item.application.number not in queue.content.decode()
    assert client.get(f"/workbench/items/{fire_item.pk}/").status_code == 404
    assert api_for(bob).post(f"/api/workbench/items/{fire_item.pk}/claim/").status_code == 404
    assert client.get(reverse("workflows:workbench-supervision")).status_code == 404
    assert client.get(reverse("accounts:staff")).status_code == 404
    assert client.get(reverse("admin:accounts_membership_changelist")).status_code == 403


def test_admin_edits_and_deletions_of_memberships_are_recorded(client, administrator, clerk_a):
    membership = Membership.objects.get(user=clerk_a)
    client.force_login(administrator)
    url = reverse("admin:accounts_membership_change", args=[membership.pk])
    form = {"user": clerk_a.pk, "department": membership.department_id, "role": "clerk"}
    suspended = {**form, "suspended_at_0": "2026-01-05", "suspended_at_1": "09:00:00"}
    assert client.post(url, suspended).status_code == 302
    assert not clerk_a.memberships.exists()  # suspended: grants nothing
    assert client.get(reverse("admin:accounts_membership_changelist")).content.decode().count("Clerk A") >= 1
    assert client.post(url, {**form, "role": "supervisor"}).status_code == 302
    assert (
        client.post(reverse("admin:accounts_membership_delete", args=[membership.pk]), {"post": "yes"}).status_code
        == 302
    )
    actions = list(MembershipChange.objects.order_by("pk").values_list("action", "role", "actor"))
    assert actions == [
        (MembershipChange.Action.SUSPENDED, "clerk", administrator.pk),
        (MembershipChange.Action.REVOKED, "clerk", administrator.pk),
        (MembershipChange.Action.GRANTED, "supervisor", administrator.pk),
        (MembershipChange.Action.RESUMED, "supervisor", administrator.pk),
        (MembershipChange.Action.REVOKED, "supervisor", administrator.pk),
    ]


def test_the_admin_refuses_a_duplicate_of_a_suspended_role_with_a_message(client, administrator, clerk_a):
    Membership.objects.filter(user=clerk_a).update(suspended_at="2026-01-05T09:00:00+08:00")
    client.force_login(administrator)
    membership = Membership.all_objects.get(user=clerk_a)
    response = client.post(
        reverse("admin:accounts_membership_add"),
        {"user": clerk_a.pk, "department": membership.department_id, "role": "clerk"},
    )
    assert response.status_code == 200
    assert "already has this role in this department" in response.content.decode()
    assert Membership.all_objects.filter(user=clerk_a).count() == 1
