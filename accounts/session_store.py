"""The database session store: a session and the person signed in on it, read by its key in one
compiled statement.

Every signed-in request reads its session and then its person; Django's store and backend make
that two statements, each built and compiled anew (lib/compiled.py says why that is worth
avoiding). Our session rows carry the person as a column (`accounts.Session.user`, filled from
the session's data whenever it is saved), so the read joins the person in, and the backend takes
that person instead of reading it again (`user_read_with_session`). Saving, rotating and deleting
sessions are Django's own.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, cast

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.base import SessionBase
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.utils import timezone

from accounts.models import Session, User
from lib.compiled import Compiled

_live_session = Compiled(
    lambda key, now: Session.objects.filter(session_key=key, expire_date__gt=now).select_related("user")  # type: ignore[misc]
)


class SessionStore(DatabaseSessionStore):
    def __init__(self, session_key: str | None = None) -> None:
        super().__init__(session_key)
        # The person whose row the session's read joined (None: nobody, or not read yet).
        self.loaded_user: User | None = None

    @classmethod
    def get_model_class(cls) -> type[Session]:
        return Session

    def _get_session_from_db(self) -> Session | None:
        key = self.session_key
        session = _live_session.first(key=key, now=timezone.now()) if isinstance(key, str) else None
        if session is None:
            self._session_key = None
            self.loaded_user = None
            return None
        self.loaded_user = session.user
        return session

    def create_model_instance(self, data: dict[str, Any]) -> Session:
        session = cast(Session, super().create_model_instance(data))  # stubs: the abstract model
        session.user_id = _user_id_in(data)
        return session

    async def acreate_model_instance(self, data: dict[str, Any]) -> Session:
        session = cast(Session, await super().acreate_model_instance(data))
        session.user_id = _user_id_in(data)
        return session


def _user_id_in(data: dict[str, Any]) -> int | None:
    """The id `login()` stored in the session (a string), as the column takes it."""
    try:
        return int(data[SESSION_KEY])
    except (KeyError, TypeError, ValueError):
        return None


# The session of the request whose person is being read (accounts/middleware.py), so that the
# backend, which Django hands only the person's id, can take the person the session read.
_session_being_read: ContextVar[SessionBase | None] = ContextVar("session_being_read", default=None)


@contextmanager
def reading_person_of(session: SessionBase) -> Iterator[None]:
    token = _session_being_read.set(session)
    try:
        yield
    finally:
        _session_being_read.reset(token)


def user_read_with_session(user_id: int) -> User | None:
    """The person with `user_id` if the session being read joined that very row, else None (the
    backend then reads the person itself). The session's data names the person; the column only
    saves a read, so a column that disagrees with the data (the data changed since the session was
    saved) is never used."""
    loaded = getattr(_session_being_read.get(), "loaded_user", None)
    return loaded if isinstance(loaded, User) and loaded.pk == user_id else None
