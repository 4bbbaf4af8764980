"""Assurance levels: how sure the portal is, in this session, of who is at the keyboard.

Three levels, after eIDAS and login.gov's IAL/AAL:
- ``low``: a self-registered password;
- ``substantial``: a national eID sign-in;
- ``high``: a national eID sign-in at ``high``, or an eID session confirmed with a second factor,
  or a person whose identity card was checked in person at a counter, confirmed with a second factor.

A second factor on its own proves the same person came back, not who they are: with a password
and no identity check, it leaves the level at ``low``.

The session records the level and every method that reached it (``password``, ``eid``,
``second_factor``, ``counter``). Signing in again (a new session) starts from nothing; a step-up
in the same session only ever raises the level.
"""

import time
from dataclasses import dataclass

from django.db import models
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

SESSION_ASSURANCE_KEY = "assurance"


class Level(models.TextChoices):
    LOW = "low", _("Low: a password")
    SUBSTANTIAL = "substantial", _("Substantial: national eID")
    HIGH = "high", _("High: national eID and a second factor")

    @property
    def rank(self) -> int:
        return _RANKS[self]

    def covers(self, needed: "Level | str") -> bool:
        """True when this level is `needed` or above."""
        return self.rank >= _RANKS[Level(needed)]


_RANKS = {Level.LOW: 1, Level.SUBSTANTIAL: 2, Level.HIGH: 3}


class Method(models.TextChoices):
    PASSWORD = "password", _("Password")
    EID = "eid", _("National eID")
    SECOND_FACTOR = "second_factor", _("Second factor")
    COUNTER = "counter", _("Identity card checked at a counter")


@dataclass(frozen=True)
class Assurance:
    level: Level
    methods: tuple[Method, ...]
    since: int  # epoch seconds when the level was last raised

    @property
    def method_labels(self) -> list[str]:
        return [str(method.label) for method in self.methods]


def session_assurance(request: HttpRequest) -> Assurance:
    """The level of this request's session (``low`` for a signed-in session with no record,
    e.g. one made by the admin's own login)."""
    stored = request.session.get(SESSION_ASSURANCE_KEY) if hasattr(request, "session") else None
    if not stored:
        return Assurance(level=Level.LOW, methods=(), since=0)
    try:
        return Assurance(
            level=Level(stored["level"]),
            methods=tuple(Method(m) for m in stored.get("methods", [])),
            since=int(stored.get("since", 0)),
        )
    except (KeyError, ValueError, TypeError):
        return Assurance(level=Level.LOW, methods=(), since=0)


def assurance_record(request: HttpRequest, *, method: Method | str, level: Level | str | None = None) -> Assurance:
    """Records that this session was confirmed by `method` and returns the session's level.

    `level` is what that method proves on its own (an eID provider says which level it
    asserted); it defaults to the method's usual level. A second factor raises an eID session
    (or a counter-checked identity) to ``high``. The level never goes down within a session.
    """
    current = session_assurance(request)
    method = Method(method)
    methods = tuple(dict.fromkeys((*current.methods, method)))
    reached = Level(level) if level is not None else _METHOD_LEVEL[method]
    if Method.SECOND_FACTOR in methods and (Method.EID in methods or Method.COUNTER in methods):
        reached = Level.HIGH
    new_level = reached if reached.rank > current.level.rank else current.level
    request.session[SESSION_ASSURANCE_KEY] = {
        "level": str(new_level),
        "methods": [str(m) for m in methods],
        "since": int(time.time()) if new_level != current.level else (current.since or int(time.time())),
    }
    return session_assurance(request)


_METHOD_LEVEL = {
    Method.PASSWORD: Level.LOW,
    Method.EID: Level.SUBSTANTIAL,
    # Alone, a second factor proves the same person came back, not who they are.
    Method.SECOND_FACTOR: Level.LOW,
    # Recorded on sessions of people whose identity card a counter clerk checked; a second factor
    # on top of it makes the session high.
    Method.COUNTER: Level.LOW,
}


def step_up_url(level: Level | str, next_url: str) -> str | None:
    """Where a person signs in with national eID at `level`, then comes back to `next_url`
    (None where this portal offers no eID sign-in)."""
    from urllib.parse import urlencode

    from django.urls import NoReverseMatch, reverse

    try:
        return reverse("accounts:eid-login") + "?" + urlencode({"level": str(Level(level)), "next": next_url})
    except NoReverseMatch:
        return None
