"""A person runs their own account: the account page, changing the password (other sessions
end), and resetting a forgotten one by an e-mail link that works once, for 30 minutes, with the
same answer whether or not the address has an account."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import PASSWORD

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "a-new-long-passphrase-2026"


@pytest.fixture(autouse=True)
def fresh_limits():
    cache.clear()
    yield
    cache.clear()


def reset_link(message) -> str:
    return re.search(r"https?://[^/\s]+(/accounts/password/reset/\S+/)", message.body).group(1)


def test_changing_the_password_signs_out_every_other_session(client, alice):
    other = Client()
    other.force_login(alice)
    assert other.get(reverse("portal:account")).status_code == 200
    client.force_login(alice)
    response = client.post(
        reverse("accounts:password-change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302 and response["Location"] == reverse("portal:account")
    assert client.get(reverse("portal:account")).status_code == 200  # this session stays
    assert other.get(reverse("portal:account")).status_code == 302  # the other one ended
    alice.refresh_from_db()
    assert alice.check_password(NEW_PASSWORD)


def test_a_wrong_old_password_is_refused_with_a_message(client, alice):
    client.force_login(alice)
    response = client.post(
        reverse("accounts:password-change"),
        {"old_password": "wrong", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 200 and "There is a problem" in response.content.decode()
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


def test_a_reset_round_trip_works_once(client, alice):
    response = client.post(reverse("accounts:password-reset"), {"email": "alice@example.org"})
    assert response.status_code == 302 and response["Location"] == reverse("accounts:password-reset-sent")
    (message,) = mail.outbox
    link = reset_link(message)
    form = client.get(link, follow=True)
    assert "Choose a new password" in form.content.decode()
    done = client.post(form.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302 and done["Location"] == reverse("accounts:password-reset-complete")
    alice.refresh_from_db()
    assert alice.check_password(NEW_PASSWORD)
    # The same link again: refused, the password stays.
    again = Client().get(link, follow=True)
    assert "This link no longer works" in again.content.decode()


def test_a_reset_link_expires_after_30_minutes(client, alice):
    client.post(reverse("accounts:password-reset"), {"email": "alice@example.org"})
    link = reset_link(mail.outbox[0])
    # A local (ZoneInfo) destination: time-machine then keeps the process's local time zone, which
    # Django's token clock (a naive local now) reads.
    with time_machine.travel(timezone.localtime() + timedelta(minutes=31)):
        page = client.get(link, follow=True).content.decode()
    assert "This link no longer works" in page


def test_an_unknown_address_gets_the_same_answer_and_no_mail(client):
    response = client.post(reverse("accounts:password-reset"), {"email": "nobody@example.org"})
    assert response.status_code == 302 and response["Location"] == reverse("accounts:password-reset-sent")
    assert mail.outbox == []


def test_reset_mails_are_rate_limited_per_address(client, alice):
    for _attempt in range(5):
        response = client.post(reverse("accounts:password-reset"), {"email": "alice@example.org"})
        assert response["Location"] == reverse("accounts:password-reset-sent")  # the same answer each time
    assert len(mail.outbox) == 3


def test_a_bad_address_is_explained(client):
    response = client.post(reverse("accounts:password-reset"), {"email": "not an address"})
    assert response.status_code == 200 and "There is a problem" in response.content.decode()
