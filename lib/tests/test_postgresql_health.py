"""The connection health check asks the socket (lib/postgresql/base.py): a healthy idle
connection is reused without a round trip, and one the server ended is still found and replaced."""

import os
import select
import tempfile
import time

import pytest
from django.db import connection, connections

pytestmark = pytest.mark.django_db

POSTGRES_ONLY = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="the backend is PostgreSQL's"
)


@pytest.fixture
def own():
    """A connection of its own (not the test's transaction), closed afterwards."""
    wrapper = connections.create_connection("default")
    wrapper.ensure_connection()
    yield wrapper
    wrapper.close()


def _traffic(wrapper, action):
    """What the client and server said to each other during `action`, from libpq's own trace."""
    with tempfile.TemporaryFile() as log:
        pgconn = wrapper.connection.pgconn
        pgconn.trace(log.fileno())
        try:
            result = action()
        finally:
            pgconn.untrace()
        log.seek(0)
        return result, log.read().decode(errors="replace")


def _readable(wrapper, seconds=5.0) -> bool:
    poller = select.poll()
    poller.register(wrapper.connection.fileno(), select.POLLIN)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if poller.poll(50):
            return True
    return False


@POSTGRES_ONLY
def test_the_portal_runs_on_this_backend():
    assert type(connections["default"]).__module__ == "lib.postgresql.base"
    assert connection.settings_dict["CONN_HEALTH_CHECKS"] is True


@POSTGRES_ONLY
def test_a_healthy_idle_connection_is_usable_without_a_word_to_the_server(own):
    usable, said = _traffic(own, own.is_usable)
    assert usable is True
    assert said == ""
    # Django's check itself, as a request or task makes it: the connection is kept.
    kept = own.connection
    own.health_check_done = False
    own.close_if_health_check_failed()
    assert own.connection is kept and own.health_check_done


@POSTGRES_ONLY
def test_a_connection_the_server_ended_is_found_and_replaced(own):
    pid = own.connection.info.backend_pid
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        assert cursor.fetchone()[0] is True
    assert _readable(own)  # the server's notice, then the closed socket
    assert own.is_usable() is False
    own.health_check_done = False
    own.close_if_health_check_failed()
    assert own.connection is None
    with own.cursor() as cursor:  # the next query connects again
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != pid


@POSTGRES_ONLY
def test_anything_waiting_on_the_socket_sends_the_check_to_the_server(own):
    """A notification is harmless: the server is asked (SELECT 1) and the connection kept."""
    with own.connection.cursor() as cursor:
        cursor.execute("LISTEN onedoor_health_test")
    other = connections.create_connection("default")  # outside the test's transaction: sent at once
    try:
        with other.cursor() as cursor:
            cursor.execute("NOTIFY onedoor_health_test")
    finally:
        other.close()
    assert _readable(own)
    usable, said = _traffic(own, own.is_usable)
    assert usable is True
    assert "SELECT 1" in said


@POSTGRES_ONLY
def test_a_connection_inside_a_transaction_is_checked_on_the_server(own):
    own.connection.execute("BEGIN")
    try:
        usable, said = _traffic(own, own.is_usable)
    finally:
        own.connection.execute("ROLLBACK")
    assert usable is True
    assert "SELECT 1" in said
