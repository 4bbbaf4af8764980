"""Idle and absolute session timeouts, enforced on the server (accounts/middleware.py)."""

import time

import pytest
from django.conf import settings
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from accounts.middleware import LAST_SEEN_KEY, SIGNED_IN_AT_KEY
from accounts.models import Session

pytestmark = pytest.mark.django_db


def sign_in(client, username, password) -> str:
    assert client.post(reverse("accounts:login"), {"username": username, "password": password}).status_code == 302
    return client.session.session_key


def set_clock(client, **values: int) -> None:
    session = client.session
    for key, value in values.items():
        session[key] = value
    session.save()


def signed_in(client) -> bool:
    return client.get(reverse("portal:home")).wsgi_request.user.is_authenticated


def test_sign_in_starts_the_absolute_clock(client, alice, password):
    before = int(time.time())
    sign_in(client, "alice", password)
    assert before <= client.session[SIGNED_IN_AT_KEY] <= int(time.time())
    assert before <= client.session[LAST_SEEN_KEY] <= int(time.time())


@override_settings(SESSION_IDLE_SECONDS=600)
def test_an_idle_session_ends(client, alice, password):
    key = sign_in(client, "alice", password)
    now = int(time.time())
    set_clock(client, **{LAST_SEEN_KEY: now - 590})
    assert signed_in(client)  # used within the limit: still signed in, and activity recorded
    assert client.session[LAST_SEEN_KEY] >= now

    set_clock(client, **{LAST_SEEN_KEY: int(time.time()) - 601})
    assert not signed_in(client)
    assert not Session.objects.filter(session_key=key).exists()


@override_settings(SESSION_IDLE_SECONDS=1800, SESSION_ABSOLUTE_SECONDS=8 * 3600)
def test_a_busy_session_still_ends_at_the_absolute_limit(client, alice, password):
    assert settings.SESSION_SAVE_EVERY_REQUEST is False
    key = sign_in(client, "alice", password)
    now = int(time.time())
    # Signed in 7 hours ago and active all along (last request two minutes ago).
    set_clock(client, **{SIGNED_IN_AT_KEY: now - 7 * 3600, LAST_SEEN_KEY: now - 120})
    assert signed_in(client)

    # Recording activity saved the session, which moved its stored expiry (and the cookie's)
    # a full cookie age forward: past the absolute limit counted from sign-in. The cookie
    # age alone would therefore let an active session live for ever.
    expiry = Session.objects.get(session_key=key).expire_date
    assert expiry > timezone.now() + timezone.timedelta(seconds=settings.SESSION_COOKIE_AGE - 60)
    assert expiry.timestamp() > now - 7 * 3600 + 8 * 3600

    # One second past the limit: the session ends although it is active and its expiry is ahead.
    set_clock(client, **{SIGNED_IN_AT_KEY: int(time.time()) - 8 * 3600 - 1, LAST_SEEN_KEY: int(time.time())})
    assert Session.objects.get(session_key=key).expire_date > timezone.now()
    assert not signed_in(client)
    assert not Session.objects.filter(session_key=key).exists()


def test_the_absolute_limit_is_the_configured_one():
    assert settings.SESSION_ABSOLUTE_SECONDS == settings.SESSION_COOKIE_AGE
    assert 0 < settings.SESSION_IDLE_SECONDS < settings.SESSION_ABSOLUTE_SECONDS <= 12 * 3600
