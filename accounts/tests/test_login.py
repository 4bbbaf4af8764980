import pytest
from django.test import override_settings
from django.urls import reverse

from accounts.models import Role
from accounts.tests.factories import MembershipFactory, UserFactory
from tests.support.second_factor import staff_device, totp_code

pytestmark = pytest.mark.django_db


def sign_in(client, username, password):
    return client.post(reverse("accounts:login"), {"username": username, "password": password})


def test_it_signs_in_by_username_or_email(client, alice, password):
    assert sign_in(client, "alice", password).status_code == 302
    client.post(reverse("accounts:logout"))
    assert sign_in(client, "Alice@Example.org", password).status_code == 302


def test_it_rotates_the_session_id_at_sign_in(client, alice, password):
    client.get(reverse("accounts:login"))
    client.session["probe"] = 1
    client.session.save()
    before = client.session.session_key
    sign_in(client, "alice", password)
    assert client.session.session_key != before


def test_a_wrong_password_says_so_without_naming_which_part(client, alice):
    response = sign_in(client, "alice", "wrong-password-123")
    assert response.status_code == 200
    assert "The log-in name or password is not right" in response.content.decode()


def test_logout_ends_the_session(client, alice, password):
    sign_in(client, "alice", password)
    client.post(reverse("accounts:logout"))
    response = client.get(reverse("portal:home"))
    assert not response.context["user"].is_authenticated


@override_settings(AXES_FAILURE_LIMIT=3)
def test_it_locks_out_after_repeated_failures_with_a_clear_page(client, alice, password):
    for _ in range(2):
        assert sign_in(client, "alice", "wrong-password-123").status_code == 200
    response = sign_in(client, "alice", "wrong-password-123")
    assert response.status_code == 429
    body = response.content.decode()
    assert "Too many attempts" in body
    assert "Try again in 15 minutes" in body
    # Even the right password is refused while locked.
    assert sign_in(client, "alice", password).status_code == 429


def test_a_lockout_of_alice_does_not_lock_bob(client, alice, bob, password):
    with override_settings(AXES_FAILURE_LIMIT=2):
        for _ in range(2):
            sign_in(client, "alice", "wrong-password-123")
        assert sign_in(client, "bob", password).status_code == 302


def test_an_empty_form_names_each_field_and_the_title_says_error(client):
    page = client.post(reverse("accounts:login"), {"username": "", "password": ""}).content.decode()
    assert "Enter your log-in name or e-mail address." in page and "Enter your password." in page
    assert "This field is required." not in page
    assert "<title>Error: Sign in" in page


def test_staff_land_on_their_workbench_and_counter_clerks_at_the_counter(client, clerk_a, alice, password):
    """After confirming their second factor (staff have one: tests/support/second_factor.py)."""
    verify = reverse("accounts:verify")
    assert sign_in(client, "clerk.a", password)["Location"] == f"{verify}?next=%2Fworkbench%2F"
    client.post(reverse("accounts:logout"))
    assert sign_in(client, "alice", password)["Location"] == reverse("portal:home")
    client.post(reverse("accounts:logout"))
    counter = MembershipFactory(user=UserFactory(username="counter.x", is_staff=True), role=Role.COUNTER_CLERK).user
    device = staff_device(counter)
    response = sign_in(client, counter.username, password)
    assert response["Location"] == f"{verify}?next=%2Fworkbench%2Fcounter%2F"
    response = client.post(response["Location"], {"code": totp_code(device)})
    assert response["Location"] == reverse("workflows:workbench-counter")
    page = client.get(reverse("workflows:workbench-counter")).content.decode()
    assert 'href="/workbench/counter/"' in page and 'href="/workbench/">' not in page
