"""Idle and absolute session timeouts (OWASP ASVS: session termination).

- idle: a signed-in session not used for SESSION_IDLE_SECONDS ends;
- absolute: a signed-in session ends SESSION_ABSOLUTE_SECONDS after sign-in, however busy.
  The cookie's age is not enough for that: each time the session is saved (here, at most
  once a minute, to record activity) Django re-issues the cookie and moves the stored expiry
  forward, so an active session would live for ever. The sign-in time is kept in the session
  (server side) and checked on every request.

Both end the session the way signing out does (logout(): server-side data deleted, new key).

`AuthenticationMiddleware` is Django's, reading the person with the session's own statement.
"""

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib import auth
from django.contrib.auth import SESSION_KEY, logout
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.middleware import AuthenticationMiddleware as DjangoAuthenticationMiddleware
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject

from accounts.session_store import reading_person_of

LAST_SEEN_KEY = "last_seen"
SIGNED_IN_AT_KEY = "signed_in_at"


class AuthenticationMiddleware(DjangoAuthenticationMiddleware):
    """`request.user` exactly as Django's middleware sets it (`auth.get_user`: the backend path,
    the session hash and its fallbacks, inactive people), except that our backend takes the person
    the session store read together with the session instead of reading them again."""

    def process_request(self, request: HttpRequest) -> None:
        super().process_request(request)
        request.user = SimpleLazyObject(lambda: _signed_in_person(request))  # type: ignore[assignment]


def _signed_in_person(request: HttpRequest) -> AbstractBaseUser | AnonymousUser:
    # The same per-request cache as django.contrib.auth.middleware.get_user.
    if not hasattr(request, "_cached_user"):
        with reading_person_of(request.session):
            request._cached_user = auth.get_user(request)  # type: ignore[attr-defined]
    return request._cached_user  # type: ignore[attr-defined]


def absolute_limit() -> int:
    return getattr(settings, "SESSION_ABSOLUTE_SECONDS", settings.SESSION_COOKIE_AGE)


class SessionTimeoutMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming_key = request.session.session_key
        if request.user.is_authenticated:
            now = int(time.time())
            last_seen = request.session.get(LAST_SEEN_KEY, now)
            signed_in_at = request.session.get(SIGNED_IN_AT_KEY, now)
            if now - last_seen > settings.SESSION_IDLE_SECONDS or now - signed_in_at > absolute_limit():
                logout(request)
            else:
                if SIGNED_IN_AT_KEY not in request.session:
                    request.session[SIGNED_IN_AT_KEY] = now
                if now - last_seen > 60 or LAST_SEEN_KEY not in request.session:
                    # Written at most once a minute so every request does not rewrite the session.
                    request.session[LAST_SEEN_KEY] = now
        response = self.get_response(request)
        # Whatever view signed the person in (sign-in, registration, the admin), the clock
        # starts now: login() rotates the session key, so a new key with a user in it is a
        # sign-in (or a password change, which re-checked the password).
        session = request.session
        if SESSION_KEY in session and (SIGNED_IN_AT_KEY not in session or session.session_key != incoming_key):
            now = int(time.time())
            session[SIGNED_IN_AT_KEY] = now
            session[LAST_SEEN_KEY] = now
        return response
