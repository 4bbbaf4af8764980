"""A new account's e-mail address is confirmed by a signed link: sent at registration, valid for
3 days, for the address it was sent to; only the button on its page confirms; resending is
limited."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from accounts.email_verification import email_verification_token
from accounts.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_limits():
    cache.clear()
    yield
    cache.clear()


def link_in(message) -> str:
    return re.search(r"https?://[^/\s]+(/accounts/email/confirm/\S+/)", message.body).group(1)


def register(client, email="chen@example.org"):
    return client.post(
        reverse("accounts:register"),
        {
            "email": email,
            "display_name": "Chen Jie",
            "password": "a-long-enough-passphrase-2026",
            "password_confirm": "a-long-enough-passphrase-2026",
            "preferred_language": "en",
        },
    )


def test_registration_sends_a_link_and_the_button_confirms(client):
    response = register(client)
    assert response.status_code == 302, response.content.decode()[:2000]
    user = User.objects.get(email="chen@example.org")
    (message,) = mail.outbox
    assert message.to == ["chen@example.org"]
    link = link_in(message)
    page = client.get(link)
    assert page.status_code == 200 and "Confirm your e-mail address" in page.content.decode()
    user.refresh_from_db()
    assert user.email_verified_at is None  # opening the link confirms nothing
    confirmed = client.post(link)
    assert confirmed.status_code == 302
    user.refresh_from_db()
    assert user.email_verified_at is not None
    assert "Confirmed" in client.get(reverse("portal:account")).content.decode()


def test_a_link_for_another_address_or_a_broken_one_is_refused(client, alice):
    token = email_verification_token(alice)
    alice.email = "alice.new@example.org"
    alice.save(update_fields=["email"])
    for bad in (token, token[:-2] + "xx", "not-a-token"):
        response = client.post(reverse("accounts:email-verify", args=[bad]))
        assert response.status_code == 400 and "This link no longer works" in response.content.decode()
    alice.refresh_from_db()
    assert alice.email_verified_at is None


def test_a_link_expires_after_3_days(client, alice):
    link = reverse("accounts:email-verify", args=[email_verification_token(alice)])
    with time_machine.travel(timezone.localtime() + timedelta(days=3, minutes=1)):
        assert client.post(link).status_code == 400
    alice.refresh_from_db()
    assert alice.email_verified_at is None


def test_resending_is_limited_and_says_so(client, alice):
    client.force_login(alice)
    for _attempt in range(4):
        response = client.post(reverse("accounts:email-verification-send"), follow=True)
    assert len(mail.outbox) == 3
    assert "We have sent several links in the last hour" in response.content.decode()


def test_an_anonymous_visitor_cannot_ask_for_links(client):
    response = client.post(reverse("accounts:email-verification-send"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert mail.outbox == []
