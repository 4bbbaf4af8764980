"""CSRF protection on every form and every state-changing endpoint (OWASP ASVS V3.5).

The test discovers every URL pattern from the URL configuration and posts to it without a
CSRF token, as a signed-in person: every one must refuse with a CSRF failure (Django's
middleware refuses before the view runs, so this holds for every view that accepts POST;
DRF's session authentication refuses for the API). A new csrf_exempt view fails this test
until it is listed in CSRF_EXEMPT with the reason it is safe.
"""

import re
import uuid
from collections.abc import Iterator

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.resolvers import RoutePattern
from rest_framework.authentication import SessionAuthentication

pytestmark = pytest.mark.django_db

# path -> why it may accept a POST without a CSRF token.
CSRF_EXEMPT: dict[str, str] = {
    # The demo eID's OAuth token endpoint (outside production only): called server to server by
    # a client authenticating with its own credentials, never with a browser's cookies.
    "/demo-eid/token/": "OAuth token endpoint: client credentials, no cookies",
    "/demo-eid/userinfo/": "OpenID Connect userinfo: a bearer access token, no cookies",
    # The payment provider's notifications: server to server, trusted only through the HMAC
    # signature over the raw body (payments/tests), never through a browser's cookies.
    "/payments/webhooks/1/": "provider webhook: HMAC-signed body, no cookies",
}

SAMPLES = ("1", "x", str(uuid.UUID(int=1)), "2026-01-01", "x/y")


def _sample_for(converter: object) -> str:
    for sample in SAMPLES:
        if re.fullmatch(converter.regex, sample):  # type: ignore[attr-defined]
            return sample
    raise AssertionError(f"no sample value for converter {converter!r}")


def _concrete(pattern: object) -> str | None:
    """A path that resolves to the pattern: parameters filled with sample values."""
    if isinstance(pattern, RoutePattern):
        route = str(pattern)
        for name, converter in pattern.converters.items():
            route = re.sub(rf"<(?:\w+:)?{name}>", _sample_for(converter), route)
        return route
    regex = str(pattern).lstrip("^").rstrip("$").replace("\\Z", "")
    # A plain regex (no groups or classes) is its own path; others are admin internals.
    return regex if not re.search(r"[()\[\]\\*+?|{}]", regex) else None


def discovered_paths(
    patterns: list | None = None, prefix: str = "", callbacks: tuple = ()
) -> Iterator[tuple[str, object]]:
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        part = _concrete(entry.pattern)
        if part is None:
            continue
        if isinstance(entry, URLResolver):
            yield from discovered_paths(entry.url_patterns, prefix + part, callbacks)
        elif isinstance(entry, URLPattern):
            yield "/" + prefix + part, entry.callback


def is_api_view(callback: object) -> bool:
    return hasattr(callback, "cls") and callback.cls.__module__.split(".")[0] != "django"  # type: ignore[attr-defined]


@pytest.fixture
def paths() -> dict[str, object]:
    found = dict(discovered_paths())
    assert {"/accounts/register/", "/accounts/login/", "/accounts/logout/", "/i18n/setlang/"} <= set(found)
    return found


def assert_csrf_refused(response, path: str, callback: object = None) -> None:
    assert response.status_code == 403, (path, response.status_code)
    if is_api_view(callback):
        # DRF enforces CSRF in SessionAuthentication, the only authentication we allow; an
        # HTML-rendered API page (Swagger UI) does not repeat the reason in its body.
        assert callback.cls().get_authenticators(), path  # type: ignore[attr-defined]
        assert all(
            isinstance(authenticator, SessionAuthentication)
            for authenticator in callback.cls().get_authenticators()  # type: ignore[attr-defined]
        ), path
    else:
        assert b"CSRF" in response.content, (path, response.content[:200])


def test_every_url_refuses_a_post_without_a_csrf_token_when_signed_in(paths, alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    checked = 0
    for path in paths:
        if path in CSRF_EXEMPT:
            continue
        assert_csrf_refused(client.post(path, {"anything": "1"}), path, paths[path])
        checked += 1
    assert checked >= 20  # the whole URL configuration, not a handful


def test_every_page_refuses_a_post_without_a_csrf_token_when_signed_out(paths):
    client = Client(enforce_csrf_checks=True)
    for path, callback in paths.items():
        if path in CSRF_EXEMPT or is_api_view(callback):
            continue  # the API authenticates by session only, so anonymous API posts carry no session
        assert_csrf_refused(client.post(path, {"anything": "1"}), path)


def csrf_token(client: Client, page: str) -> str:
    client.get(page)
    return client.cookies["csrftoken"].value


def test_the_registration_form_needs_its_token(client):
    client = Client(enforce_csrf_checks=True)
    data = {
        "display_name": "Chen Mei",
        "email": "chen.mei@example.org",
        "password": "violet-harbour-lantern-42",
        "password_confirm": "violet-harbour-lantern-42",
        "preferred_language": "en",
    }
    assert_csrf_refused(client.post(reverse("accounts:register"), data), "register")
    token = csrf_token(client, reverse("accounts:register"))
    assert client.post(reverse("accounts:register"), {**data, "csrfmiddlewaretoken": token}).status_code == 302


def test_the_sign_in_and_sign_out_forms_need_their_tokens(alice, password):
    client = Client(enforce_csrf_checks=True)
    credentials = {"username": "alice", "password": password}
    assert_csrf_refused(client.post(reverse("accounts:login"), credentials), "login")
    token = csrf_token(client, reverse("accounts:login"))
    assert client.post(reverse("accounts:login"), {**credentials, "csrfmiddlewaretoken": token}).status_code == 302

    # The token rotates at sign-in: take the new one from a page.
    assert_csrf_refused(client.post(reverse("accounts:logout")), "logout")
    assert client.get(reverse("portal:home")).wsgi_request.user.is_authenticated
    token = csrf_token(client, reverse("portal:home"))
    assert client.post(reverse("accounts:logout"), {"csrfmiddlewaretoken": token}).status_code == 302
    assert not client.get(reverse("portal:home")).wsgi_request.user.is_authenticated


def test_the_language_switch_needs_its_token():
    client = Client(enforce_csrf_checks=True)
    assert_csrf_refused(client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"}), "set_language")
    token = csrf_token(client, reverse("portal:home"))
    response = client.post(reverse("set_language"), {"language": "zh-hans", "next": "/", "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert client.cookies["django_language"].value == "zh-hans"
