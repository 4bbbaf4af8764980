"""Session ids: rotated at sign-in, ended server-side at sign-out, and a password change ends
the person's other sessions (OWASP ASVS V7)."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Session

pytestmark = pytest.mark.django_db


def sign_in(client, username, password):
    response = client.post(reverse("accounts:login"), {"username": username, "password": password})
    assert response.status_code == 302
    return client.session.session_key


def signed_in(client) -> bool:
    return client.get(reverse("portal:home")).wsgi_request.user.is_authenticated


def test_sign_in_gives_a_new_session_id_and_the_old_one_is_gone(client, alice, password):
    client.get(reverse("accounts:login"))
    client.session.save()
    before = client.cookies["sessionid"].value
    assert Session.objects.filter(session_key=before).exists()

    after = sign_in(client, "alice", password)

    assert after != before
    assert client.cookies["sessionid"].value == after
    # Session fixation: the id an attacker may have planted does not become a signed-in one.
    assert not Session.objects.filter(session_key=before).exists()
    planted = Client()
    planted.cookies["sessionid"] = before
    assert not signed_in(planted)


def test_registration_also_signs_in_on_a_new_session_id(client):
    client.get(reverse("accounts:register"))
    client.session.save()
    before = client.cookies["sessionid"].value
    response = client.post(
        reverse("accounts:register"),
        {
            "display_name": "Chen Mei",
            "email": "chen.mei@example.org",
            "password": "violet-harbour-lantern-42",
            "password_confirm": "violet-harbour-lantern-42",
            "preferred_language": "en",
        },
    )
    assert response.status_code == 302
    assert signed_in(client)
    assert client.session.session_key != before


def test_sign_out_ends_the_session_on_the_server(client, alice, password):
    key = sign_in(client, "alice", password)
    client.post(reverse("accounts:logout"))

    assert not Session.objects.filter(session_key=key).exists()
    # Someone who copied the cookie before sign-out cannot use it afterwards.
    copied = Client()
    copied.cookies["sessionid"] = key
    assert not signed_in(copied)
    assert not signed_in(client)


def test_sign_out_needs_a_post(client, alice, password):
    sign_in(client, "alice", password)
    assert client.get(reverse("accounts:logout")).status_code == 405
    assert signed_in(client)


def test_a_password_change_ends_the_persons_other_sessions(alice, bob, password):
    phone, laptop, bobs = Client(), Client(), Client()
    sign_in(phone, "alice", password)
    sign_in(laptop, "alice", password)
    sign_in(bobs, "bob", password)

    # However the password is changed (a form, the admin, a reset), Django's session
    # authentication hash no longer matches the sessions signed in with the old one.
    alice.set_password("a-completely-new-passphrase-7")
    alice.save()

    assert not signed_in(phone)
    assert not signed_in(laptop)
    assert signed_in(bobs)
    # And the new password works.
    sign_in(phone, "alice", "a-completely-new-passphrase-7")
    assert signed_in(phone)
