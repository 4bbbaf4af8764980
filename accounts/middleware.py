"""Idle session timeout (the absolute limit is the session cookie's age)."""

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse

LAST_SEEN_KEY = "last_seen"


class SessionTimeoutMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = int(time.time())
            last_seen = request.session.get(LAST_SEEN_KEY, now)
            if now - last_seen > settings.SESSION_IDLE_SECONDS:
                logout(request)
            elif now - last_seen > 60 or LAST_SEEN_KEY not in request.session:
                # Written at most once a minute so every request does not rewrite the session.
                request.session[LAST_SEEN_KEY] = now
        return self.get_response(request)
