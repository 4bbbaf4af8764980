"""Where a person is signed in, and signing out everywhere else: every other session ends at once
(the session check includes an epoch), this one stays; a stranger cannot end anyone's."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import SignIn
from accounts.tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def signed_in(username: str, agent: str) -> Client:
    client = Client(HTTP_USER_AGENT=agent)
    response = client.post(reverse("accounts:login"), {"username": username, "password": PASSWORD})
    assert response.status_code == 302
    return client


def test_each_sign_in_is_listed_and_this_device_is_marked(alice):
    laptop = signed_in("alice", "Laptop browser")
    signed_in("alice", "Phone browser")
    page = laptop.get(reverse("portal:account")).content.decode()
    assert "Laptop browser" in page and "Phone browser" in page
    assert page.count("This device") == 1
    assert SignIn.objects.filter(user=alice).count() == 2


def test_signing_out_everywhere_else_ends_the_other_sessions_only(alice, bob):
    laptop = signed_in("alice", "Laptop browser")
    phone = signed_in("alice", "Phone browser")
    bobs = signed_in("bob", "Bob's browser")
    response = laptop.post(reverse("accounts:sessions-end-others"), follow=True)
    assert "You are signed out on every other device." in response.content.decode()
    assert laptop.get(reverse("portal:account")).status_code == 200
    assert phone.get(reverse("portal:account")).status_code == 302  # to sign in again
    assert bobs.get(reverse("portal:account")).status_code == 200  # nobody else is touched
    assert list(SignIn.objects.filter(user=alice).values_list("user_agent", flat=True)) == ["Laptop browser"]


def test_an_anonymous_visitor_ends_nothing(client, alice):
    phone = signed_in("alice", "Phone browser")
    response = client.post(reverse("accounts:sessions-end-others"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert phone.get(reverse("portal:account")).status_code == 200


def test_after_a_password_change_only_this_device_is_listed(alice):
    laptop = signed_in("alice", "Laptop browser")
    signed_in("alice", "Phone browser")
    new = "a-new-long-passphrase-2026"
    laptop.post(
        reverse("accounts:password-change"),
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
    )
    page = laptop.get(reverse("portal:account")).content.decode()
    assert "Laptop browser" in page and "Phone browser" not in page and "This device" in page
