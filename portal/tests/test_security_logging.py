"""Failed authorisations and sign-ins are logged, one line each, through the configured
logging; user-supplied CR/LF cannot forge a line; passwords never appear (OWASP ASVS V16)."""

import io
import logging

import pytest
from django.http import Http404, HttpRequest, HttpResponse
from django.test import Client, override_settings
from django.urls import include, path, reverse

from portal.logging import SingleLineFormatter

pytestmark = pytest.mark.django_db

FORGED = "2026-01-01 00:00:00,000 INFO portal.security login_succeeded user=1"


def refused(request: HttpRequest, token: str) -> HttpResponse:
    raise Http404


# A test URL configuration: the real one, plus a non-public view with a free-text parameter.
urlpatterns = [
    path("probe/<str:token>/", refused, name="probe"),
    path("", include("portal.urls")),
]


@pytest.fixture
def log_output():
    """What the configured console handler (SingleLineFormatter) writes."""
    handlers = [h for h in logging.getLogger().handlers if isinstance(h.formatter, SingleLineFormatter)]
    assert handlers, "the root logger writes through SingleLineFormatter"
    buffer = io.StringIO()
    previous = [handler.setStream(buffer) for handler in handlers]
    yield buffer
    for handler, stream in zip(handlers, previous, strict=True):
        handler.setStream(stream)


def lines(buffer: io.StringIO, marker: str) -> list[str]:
    return [line for line in buffer.getvalue().splitlines() if marker in line]


def test_a_failed_sign_in_is_one_line_with_the_user_and_address_and_no_password(log_output, alice):
    Client().post(
        reverse("accounts:login"),
        {"username": "alice", "password": "Wrong-Passw0rd-Guess!"},
        REMOTE_ADDR="198.51.100.7",
    )
    [line] = lines(log_output, "login_failed")
    assert f"user={alice.pk} username=alice method=POST path=/accounts/login/ ip=198.51.100.7" in line
    assert "Wrong-Passw0rd-Guess!" not in log_output.getvalue()


def test_newlines_in_a_log_in_name_cannot_forge_a_log_line(log_output):
    Client().post(reverse("accounts:login"), {"username": f"mallory\r\n{FORGED}", "password": "Secret-Passw0rd-9"})
    output = log_output.getvalue()
    [line] = lines(log_output, "login_failed")
    assert f"username=mallory\\r\\n{FORGED} " in line
    assert not any(text.startswith(FORGED) for text in output.splitlines())
    assert "Secret-Passw0rd-9" not in output


@override_settings(ROOT_URLCONF=__name__)
def test_newlines_in_a_path_cannot_forge_a_log_line(log_output, bob):
    client = Client()
    client.force_login(bob)
    assert client.get("/probe/x%0D%0A2026-01-01%2000:00:00,000%20INFO%20forged/").status_code == 404
    [line] = lines(log_output, "authorisation_failed")
    # The view received CR/LF in its parameter; the log shows the path as a URI.
    assert f"user={bob.pk} method=GET path=/probe/x%0D%0A2026-01-01%2000:00:00,000%20INFO%20forged/ view=probe" in line
    assert not any(text.startswith("2026-01-01") for text in log_output.getvalue().splitlines())


def test_the_formatter_escapes_what_a_message_carries(log_output):
    logging.getLogger("portal.security").warning("note value=%s", f"x\r\n{FORGED}\\n")
    [line] = lines(log_output, "note value=")
    assert line.endswith(f"note value=x\\r\\n{FORGED}\\\\n")
    assert not any(text.startswith(FORGED) for text in log_output.getvalue().splitlines())


def test_a_lockout_is_logged(log_output, alice):
    client = Client()
    with override_settings(AXES_FAILURE_LIMIT=2):
        for _ in range(3):
            client.post(reverse("accounts:login"), {"username": "alice", "password": "nope-nope-nope-1"})
    line = lines(log_output, "login_locked_out")[0]
    assert f"user={alice.pk} username=alice method=POST path=/accounts/login/ ip=127.0.0.1" in line


def test_a_refused_look_at_someone_elses_document_is_logged(log_output, bob):
    client = Client()
    client.force_login(bob)
    assert client.get(reverse("documents:download", args=[987654])).status_code == 404
    [line] = lines(log_output, "authorisation_failed")
    assert (
        f"status=404 user={bob.pk} method=GET path=/vault/987654/download/ view=documents:download ip=127.0.0.1"
    ) in line


def test_a_refused_post_without_csrf_token_is_logged(log_output, bob):
    client = Client(enforce_csrf_checks=True)
    client.force_login(bob)
    assert client.post(reverse("documents:delete", args=[1])).status_code == 403
    [line] = lines(log_output, "authorisation_failed")
    assert f"status=403 user={bob.pk} method=POST path=/vault/1/delete/" in line


def test_public_pages_and_anonymous_visitors_are_not_logged_as_refusals(log_output, bob):
    Client().get(reverse("documents:download", args=[987654]))  # anonymous: sent to sign in
    client = Client()
    client.force_login(bob)
    assert client.get(reverse("services:service", args=["no-such-service"])).status_code == 404
    assert client.get("/no-such-page/").status_code == 404
    assert lines(log_output, "authorisation_failed") == []
