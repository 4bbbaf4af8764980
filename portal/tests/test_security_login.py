"""Sign-in throttling (django-axes, per log-in name and address) and the password policy
(OWASP ASVS V2: at least 12 characters, not common, not all digits, not like the person)."""

import pytest
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.test import Client, override_settings
from django.urls import reverse

from accounts.models import User

pytestmark = pytest.mark.django_db

HOME, OFFICE = "198.51.100.7", "203.0.113.20"


def sign_in(client: Client, username: str, password: str, address: str) -> int:
    return client.post(
        reverse("accounts:login"), {"username": username, "password": password}, REMOTE_ADDR=address
    ).status_code


@override_settings(AXES_FAILURE_LIMIT=3)
def test_repeated_failures_lock_that_name_from_that_address_only(alice, bob, password):
    attacker = Client()
    for _ in range(2):
        assert sign_in(attacker, "alice", "not-her-password-1", HOME) == 200
    assert sign_in(attacker, "alice", "not-her-password-1", HOME) == 429
    # Locked: even the right password from that address is refused, with the lockout page.
    assert sign_in(attacker, "alice", password, HOME) == 429

    # The same name from another address, and another name from the same address, still work:
    # the lock is per (log-in name, address), so an attacker cannot lock everyone out.
    assert sign_in(Client(), "alice", password, OFFICE) == 302
    assert sign_in(Client(), "bob", password, HOME) == 302


@override_settings(AXES_FAILURE_LIMIT=3)
def test_the_lockout_counts_failures_by_email_and_name_separately_but_still_locks(alice, password):
    client = Client()
    for _ in range(3):
        sign_in(client, "alice", "not-her-password-1", HOME)
    assert sign_in(client, "alice", password, HOME) == 429


@override_settings(AXES_FAILURE_LIMIT=3)
def test_a_success_before_the_limit_resets_the_count(alice, password):
    client = Client()
    for _ in range(2):
        sign_in(client, "alice", "not-her-password-1", HOME)
    assert sign_in(client, "alice", password, HOME) == 302
    client.post(reverse("accounts:logout"), REMOTE_ADDR=HOME)
    for _ in range(2):
        assert sign_in(client, "alice", "not-her-password-1", HOME) == 200
    assert sign_in(client, "alice", password, HOME) == 302


def errors_for(password: str, **person: str) -> list[str]:
    user = User(username=person.get("email", "chen.mei@example.org"), **person)
    try:
        password_validation.validate_password(password, user)
    except ValidationError as error:
        return [e.code for e in error.error_list]
    return []


def test_the_password_policy():
    person = {"email": "chen.mei@example.org", "display_name": "Chen Mei", "first_name": "Chen Mei"}
    assert errors_for("violet-harbour-lantern-42", **person) == []
    assert errors_for("short-pass1", **person) == ["password_too_short"]  # 11 characters
    assert errors_for("twelve-chars", **person) == []  # exactly 12
    assert errors_for("q1w2e3r4t5y6", **person) == ["password_too_common"]
    assert errors_for("839201746583", **person) == ["password_entirely_numeric"]
    assert "password_too_similar" in errors_for("chen.mei@example.org", **person)


def register(client: Client, password: str) -> str:
    response = client.post(
        reverse("accounts:register"),
        {
            "display_name": "Chen Mei",
            "email": "chen.mei@example.org",
            "password": password,
            "password_confirm": password,
            "preferred_language": "en",
        },
    )
    assert response.status_code == 400
    assert not User.objects.filter(email="chen.mei@example.org").exists()
    return response.content.decode()


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short-pass1", "This password is too short. It must contain at least 12 characters."),
        ("q1w2e3r4t5y6", "This password is too common."),
        ("839201746583", "This password is entirely numeric."),
        ("chen.mei@example.org", "The password is too similar to the"),
    ],
)
def test_registration_refuses_a_weak_password_next_to_the_field(client, password, message):
    body = register(client, password)
    assert message in body
    assert "govuk-error-summary" in body
    assert 'value="chen.mei@example.org"' in body  # what was typed is kept
