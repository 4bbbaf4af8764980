"""The staff gate (accounts/second_factor/gate.py): staff areas open only with a second factor
confirmed in this session. These tests turn off the test client's automatic confirmation."""

import pytest
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Role
from accounts.second_factor.gate import STAFF_AREAS
from accounts.tests.factories import MembershipFactory, UserFactory
from tests.authz_matrix import NOT_FOUND, ROWS
from tests.support.second_factor import staff_device, totp_code

pytestmark = [pytest.mark.django_db, pytest.mark.second_factor_gate]

STAFF_PAGES = ("/workbench/", "/workbench/counter/", "/supervision/", "/accounts/staff/", "/admin/")
STAFF_APIS = ("/api/workbench/items/", "/api/supervision/dashboard/")


@pytest.fixture
def new_clerk(department_a):
    """A clerk who has not added a second factor yet."""
    user = UserFactory(username="new.clerk", is_staff=True)
    MembershipFactory(user=user, department=department_a, role=Role.SUPERVISOR)
    return user


def test_staff_without_a_factor_are_sent_to_add_one_for_every_staff_area(client, new_clerk):
    client.force_login(new_clerk)
    for path in STAFF_PAGES:
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith(reverse("accounts:security") + "?next="), path
        assert "required=1" in response["Location"]
    page = client.get(client.get("/workbench/")["Location"]).content.decode()
    assert "Add a second factor to continue" in page


def test_the_staff_api_answers_403_with_a_reason_not_a_redirect(client, new_clerk):
    client.force_login(new_clerk)
    for path in STAFF_APIS:
        response = client.get(path)
        assert response.status_code == 403, path
        assert response["Content-Type"] == "application/json"
        assert "second factor" in response.json()["detail"]
    response = client.post(reverse("workflows-api:workbench-claim", args=[1]))
    assert response.status_code == 403


def test_staff_with_a_factor_not_yet_confirmed_are_sent_to_confirm_it(client, clerk_a):
    client.force_login(clerk_a)  # signed in, factor not confirmed (the marker turns the helper off)
    response = client.get("/workbench/?page=2")
    assert response["Location"] == reverse("accounts:verify") + "?next=%2Fworkbench%2F%3Fpage%3D2"
    assert client.get("/api/workbench/items/").json()["detail"].startswith("Confirm your sign-in")
    response = client.post(response["Location"], {"code": totp_code(staff_device(clerk_a))})
    assert response["Location"] == "/workbench/?page=2"
    assert client.get("/workbench/").status_code == 200


def test_adding_an_app_opens_the_workbench(client, new_clerk):
    client.force_login(new_clerk)
    client.post(reverse("accounts:security-app-start"), {"next": "/workbench/"})
    device = TOTPDevice.objects.get(user=new_clerk)
    code = f"{TOTP(device.bin_key).token():06d}"
    response = client.post(reverse("accounts:security-app") + "?next=/workbench/", {"code": code})
    assert response["Location"] == "/workbench/"
    assert client.get("/workbench/").status_code == 200


@pytest.mark.parametrize("role", [Role.COUNTER_CLERK, Role.DEPARTMENT_ADMIN, Role.CLERK])
def test_every_department_role_is_gated_even_without_is_staff(client, department_a, role):
    user = MembershipFactory(user=UserFactory(username=f"member.{role}"), department=department_a, role=role).user
    client.force_login(user)
    assert client.get("/workbench/counter/")["Location"].startswith(reverse("accounts:security"))


def test_an_administrator_is_gated_at_the_admin(client, administrator):
    client.force_login(administrator)
    assert client.get("/admin/")["Location"].startswith(reverse("accounts:verify"))
    assert client.get("/admin/accounts/user/")["Location"].startswith(reverse("accounts:verify"))


def test_a_citizen_is_never_forced(client, alice):
    client.force_login(alice)
    for name in ("portal:home", "portal:account", "workflows:apply-list", "documents:vault", "accounts:security"):
        assert client.get(reverse(name)).status_code == 200, name
    # Staff areas answer a citizen as before (not theirs: 404), never with the enrolment page.
    assert client.get("/workbench/").status_code == NOT_FOUND
    assert client.get("/api/workbench/items/").status_code == NOT_FOUND


def test_staff_reach_their_own_citizen_pages_without_a_factor(client, new_clerk):
    client.force_login(new_clerk)
    assert client.get(reverse("portal:account")).status_code == 200
    assert client.get(reverse("accounts:security")).status_code == 200


def test_the_gate_is_logged_on_one_line(client, new_clerk, caplog):
    client.force_login(new_clerk)
    with caplog.at_level("INFO", logger="accounts.second_factor"):
        client.get("/workbench/")
    assert any(
        "second factor required" in r.getMessage() and f"user={new_clerk.pk}" in r.getMessage() for r in caplog.records
    )


def test_every_url_the_matrix_reserves_for_staff_is_behind_the_gate():
    """A staff page added outside the gated prefixes fails here: rows where citizens get 404 and
    some member of staff does not, for a URL that is not an applicant's own object."""
    from tests.test_authorization_matrix import site_patterns

    routes = {p.name: "/" + p.route for p in site_patterns()}
    citizens_refused = [
        row
        for row in ROWS
        if row.expect["alice"] == NOT_FOUND
        and row.expect["bob"] == NOT_FOUND
        and any(row.expect[a] != NOT_FOUND for a in ("clerk_a", "clerk_b", "supervisor", "administrator"))
    ]
    assert len(citizens_refused) > 20
    outside = sorted({row.name for row in citizens_refused if not routes[row.name].startswith(STAFF_AREAS)})
    assert outside == [], f"staff-only URLs outside the second-factor gate's STAFF_AREAS: {outside}"
