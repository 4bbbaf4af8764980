"""When PostgreSQL goes away (a restart, a failover, the network), people get an honest 503 with
Retry-After in the house style, never the 500 page, and the portal recovers by itself when the
database is back.

The database is real: a throwaway PostgreSQL (tests/support/processes.py) that the test stops
with an immediate shutdown and starts again. The portal is served over HTTP by Django's own WSGI
handler in a thread, as gunicorn runs it: unlike the test client, that handler checks the
persistent connection at the start of each request and reconnects, which is part of what is
under test.
"""

import logging
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
import requests
from django.contrib.contenttypes.models import ContentType
from django.core.handlers.wsgi import WSGIHandler
from django.db import (
    DataError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    ProgrammingError,
    connection,
    connections,
)
from django.http import HttpResponse
from django.urls import reverse
from django.utils.functional import SimpleLazyObject

from accounts.tests.factories import PASSWORD, UserFactory
from portal.database_down import DatabaseDownMiddleware
from portal.views import server_error
from tests.support.processes import ThrowawayPostgres

HEADING = "Sorry, the service is briefly unavailable"
NOTHING_LOST = "Nothing you have already submitted has been lost."
TRY_AGAIN = "Please try again in a minute."


@contextmanager
def default_database_at(server: ThrowawayPostgres) -> Iterator[None]:
    """Points the default database at `server`, in every thread: Django reads this settings
    dictionary when a thread first connects."""
    settings_dict = connections.settings["default"]
    assert connection.settings_dict is settings_dict
    saved = dict(settings_dict)
    connection.close()
    settings_dict.update(HOST="127.0.0.1", PORT=str(server.port), NAME="postgres", USER="postgres", PASSWORD="")
    try:
        yield
    finally:
        connection.close()
        settings_dict.clear()
        settings_dict.update(saved)
        # Content types read from the throwaway database must not be served to later tests.
        ContentType.objects.clear_cache()


class QuietRequestHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def portal_url(throwaway_postgres, django_db_blocker) -> Iterator[str]:
    """The portal over HTTP, against the throwaway database with the portal's tables."""
    throwaway_postgres.migrate()
    with django_db_blocker.unblock(), default_database_at(throwaway_postgres):
        server = make_server("127.0.0.1", 0, WSGIHandler(), handler_class=QuietRequestHandler)

        def serve() -> None:
            try:
                server.serve_forever(poll_interval=0.05)
            finally:
                connections.close_all()  # this thread's connection

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_port}"
        finally:
            server.shutdown()
            thread.join(10)
            server.server_close()


def csrf_token(page: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert match, "no CSRF token on the page"
    return match.group(1)


def sign_in(base: str, username: str) -> requests.Session:
    browser = requests.Session()
    form = browser.get(base + reverse("accounts:login"), timeout=10)
    signed_in = browser.post(
        base + reverse("accounts:login"),
        data={"username": username, "password": PASSWORD, "csrfmiddlewaretoken": csrf_token(form.text)},
        allow_redirects=False,
        timeout=10,
    )
    assert signed_in.status_code == 302, signed_in.text
    return browser


def assert_security_headers(response: requests.Response, name: str) -> None:
    assert response.headers["X-Content-Type-Options"] == "nosniff", name
    assert response.headers["X-Frame-Options"] == "DENY", name
    assert response.headers["Referrer-Policy"] == "same-origin", name
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"], name


def test_it_answers_503_while_the_database_is_down_and_recovers_when_it_is_back(portal_url, throwaway_postgres, caplog):
    UserFactory(username="alice", display_name="Alice Wang")
    alice = sign_in(portal_url, "alice")
    assert "Welcome, Alice Wang." in alice.get(portal_url + "/", timeout=10).text
    stranger = requests.Session()
    sign_in_form = stranger.get(portal_url + reverse("accounts:login"), timeout=10)

    throwaway_postgres.stop()
    caplog.set_level(logging.WARNING)

    pages = {
        # Signed in: the session cannot be loaded (SessionTimeoutMiddleware, then handler500).
        "/": alice.get(portal_url + "/", timeout=10),
        reverse("documents:vault"): alice.get(portal_url + reverse("documents:vault"), timeout=10),
        # Not signed in: the view's own query fails (the middleware's process_exception).
        reverse("accounts:login"): stranger.post(
            portal_url + reverse("accounts:login"),
            data={"username": "alice", "password": PASSWORD, "csrfmiddlewaretoken": csrf_token(sign_in_form.text)},
            timeout=10,
        ),
        reverse("services:catalogue"): stranger.get(portal_url + reverse("services:catalogue"), timeout=10),
    }
    for path, response in pages.items():
        assert response.status_code == 503, (path, response.text[:300])
        assert response.headers["Retry-After"] == "60", path
        assert "no-store" in response.headers["Cache-Control"], path
        assert response.headers["Content-Type"].startswith("text/html"), path
        assert HEADING in response.text and NOTHING_LOST in response.text and TRY_AGAIN in response.text, path
        assert "Alice Wang" not in response.text and "Sign out" not in response.text, path
        assert_security_headers(response, path)

    api = {
        reverse("services-api:service-list"): stranger.get(
            portal_url + reverse("services-api:service-list"), timeout=10
        ),
        reverse("documents-api:list"): alice.get(portal_url + reverse("documents-api:list"), timeout=10),
    }
    for path, response in api.items():
        assert response.status_code == 503, (path, response.text[:300])
        assert response.headers["Retry-After"] == "60", path
        assert response.headers["Content-Type"] == "application/json", path
        assert response.json() == {
            "detail": "The service is briefly unavailable. Nothing you have already submitted has been lost. "
            "Please try again in a minute."
        }, path
        assert_security_headers(response, path)

    monitor = requests.get(portal_url + "/healthz", timeout=10)
    browser_on_health = alice.get(portal_url + "/healthz", timeout=10)
    for response in (monitor, browser_on_health):
        assert response.status_code == 503
        assert response.json()["status"] == "unavailable"
        assert response.json()["database"] == "error: OperationalError"

    in_chinese = alice.get(portal_url + "/", headers={"Accept-Language": "zh-hans"}, timeout=10)
    assert in_chinese.status_code == 503
    assert '<html lang="zh-Hans"' in in_chinese.text

    # A page that needs nothing from the database still answers.
    assert requests.get(portal_url + "/", timeout=10).status_code == 200

    lines = [record.getMessage() for record in caplog.records if record.name == "portal.database_down"]
    # Alice's /healthz and her page in Chinese; the monitor's /healthz is answered by its own check.
    answered = [*pages, *api, "/healthz", "/"]
    assert len(lines) == len(answered), lines
    for path in answered:
        assert any(f" path={path} error=OperationalError message=" in line for line in lines), (path, lines)
    assert all(record.levelno == logging.WARNING for record in caplog.records if record.name == "portal.database_down")
    assert f"port {throwaway_postgres.port} failed" in lines[0]
    # Only the monitor's own 503 is logged as an error by Django, as before; ours are not.
    errors = [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR]
    assert errors == ["Service Unavailable: /healthz"], errors

    throwaway_postgres.start()
    back = alice.get(portal_url + "/", timeout=10)
    assert back.status_code == 200
    assert "Welcome, Alice Wang." in back.text, "the session survived the outage"
    assert requests.get(portal_url + "/healthz", timeout=10).json()["database"] == "ok"


@pytest.mark.parametrize(
    "error",
    [OperationalError("server closed the connection unexpectedly"), InterfaceError("connection already closed")],
)
def test_a_lost_connection_is_answered_503_by_the_middleware_and_the_500_handler(rf, error):
    request = rf.get("/services/")
    answered = DatabaseDownMiddleware(lambda request: HttpResponse()).process_exception(request, error)
    assert answered is not None and answered.status_code == 503
    try:
        raise error
    except type(error):
        handled = server_error(request)
    assert handled.status_code == 503
    assert HEADING in handled.content.decode()


@pytest.mark.parametrize(
    "error",
    [
        IntegrityError("duplicate key value violates unique constraint"),
        ProgrammingError('relation "services_service" does not exist'),
        DataError("value too long for type character varying(20)"),
    ],
)
def test_programming_errors_stay_500s(rf, error):
    request = rf.get("/services/")
    assert DatabaseDownMiddleware(lambda request: HttpResponse()).process_exception(request, error) is None
    try:
        raise error
    except type(error):
        handled = server_error(request)
    assert handled.status_code == 500
    assert "Sorry, there is a problem with the service" in handled.content.decode()


def test_the_500_page_renders_when_the_user_cannot_be_loaded(rf):
    """Any other failure while the database is down: the 500 page must not need the user."""

    def unreachable() -> None:
        raise OperationalError("connection refused")

    request = rf.get("/")
    request.user = SimpleLazyObject(unreachable)
    try:
        raise ValueError("a bug somewhere")
    except ValueError:
        handled = server_error(request)
    assert handled.status_code == 500
    assert "Sorry, there is a problem with the service" in handled.content.decode()
