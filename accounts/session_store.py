"""The database session store, reading a session by its key through one compiled statement.

Every signed-in request reads its session; Django's store builds and compiles the same
`SELECT … WHERE session_key = … AND expire_date > now` each time (lib/compiled.py says why that
is worth avoiding). Saving, rotating and deleting sessions are Django's own.
"""

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from lib.compiled import Compiled

_live_session = Compiled(
    lambda key, now: Session.objects.filter(session_key=key, expire_date__gt=now)  # type: ignore[misc]
)


class SessionStore(DatabaseSessionStore):
    def _get_session_from_db(self) -> Session | None:
        key = self.session_key
        session = _live_session.first(key=key, now=timezone.now()) if isinstance(key, str) else None
        if session is None:
            self._session_key = None
        return session
