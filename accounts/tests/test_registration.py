import pytest
from django.urls import reverse

from accounts.models import User

pytestmark = pytest.mark.django_db

GOOD = {
    "display_name": "Carol Zhang",
    "email": "carol@example.org",
    "password": "a-long-and-unusual-passphrase",
    "password_confirm": "a-long-and-unusual-passphrase",
    "preferred_language": "zh-hans",
}


def test_it_registers_a_citizen_and_signs_them_in(client):
    response = client.post(reverse("accounts:register"), GOOD)
    assert response.status_code == 302
    user = User.objects.get(email="carol@example.org")
    assert user.username == "carol@example.org"
    assert user.preferred_language == "zh-hans"
    assert user.check_password(GOOD["password"])
    assert client.get(reverse("portal:home")).context["user"] == user


def test_it_refuses_a_weak_password_and_keeps_what_was_typed(client):
    response = client.post(
        reverse("accounts:register"), {**GOOD, "password": "password", "password_confirm": "password"}
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "This password is too short" in body
    assert "This password is too common" in body
    assert 'value="carol@example.org"' in body
    assert 'value="Carol Zhang"' in body
    assert not User.objects.filter(email="carol@example.org").exists()


def test_it_refuses_a_duplicate_email_whatever_its_case(client, alice):
    response = client.post(reverse("accounts:register"), {**GOOD, "email": "ALICE@example.org"})
    assert response.status_code == 400
    assert "already exists" in response.content.decode()
    assert User.objects.filter(email__iexact="alice@example.org").count() == 1


def test_it_lists_every_missing_field(client):
    response = client.post(reverse("accounts:register"), {})
    assert response.status_code == 400
    assert response.content.decode().count("This field is required") >= 4
    assert "There is a problem" in response.content.decode()


def test_it_refuses_mismatched_passwords(client):
    response = client.post(reverse("accounts:register"), {**GOOD, "password_confirm": "something-else-entirely"})
    assert response.status_code == 400
    assert "do not match" in response.content.decode()
