"""Django's PostgreSQL backend with a health check that asks the socket, not the server.

With `CONN_HEALTH_CHECKS`, Django checks a persistent connection before the first query of
every request and every Celery task by running `SELECT 1`: a round trip, a cursor and a
statement on the server, six times for the six requests of an application and again for each
of its tasks. Here an idle connection is checked by polling its socket without waiting:

- nothing to read: the server has sent nothing since the last reply, so it has neither
  terminated the session nor closed the connection (both send a message or close the socket,
  which makes it readable); the connection is used as it is, with no round trip;
- something to read (a termination notice, a closed socket, or a harmless notification), a
  connection psycopg already knows is closed or broken, or one not idle: Django's `SELECT 1`
  decides, as before.

What a poll cannot see, a server that vanished without closing the connection (a cut network),
the `SELECT 1` would only have found after the network timeout too; the request's query fails
instead, and Django closes the connection after that error as it always does.
"""

import select

from django.db.backends.postgresql import base
from psycopg import pq

# Anything but "nothing to read" sends the check to the server.
_ATTENTION = select.POLLIN | select.POLLPRI | select.POLLERR | select.POLLHUP | select.POLLNVAL


def socket_is_quiet(connection) -> bool:
    """True when psycopg's connection is idle, open and has nothing waiting to be read."""
    if connection.closed or connection.broken:
        return False
    if connection.info.transaction_status != pq.TransactionStatus.IDLE:
        return False
    try:
        poller = select.poll()  # poll, not select: no limit on the descriptor's number
        poller.register(connection.fileno(), _ATTENTION)
        return not poller.poll(0)
    except (OSError, ValueError):
        return False


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        if self.connection is None:
            return False
        if socket_is_quiet(self.connection):
            return True
        return super().is_usable()
