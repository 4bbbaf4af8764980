"""When PostgreSQL cannot be reached, people get an honest 503 with Retry-After, never a 500.

Where the failure surfaces: Django turns an exception into a response at every middleware
boundary (`convert_exception_to_response`), so no middleware ever sees an exception raised
below it. Two hooks therefore share one answer, `database_down_response`:

- `DatabaseDownMiddleware.process_exception`, for a view that queries (an anonymous catalogue
  page, the sign-in form, an API list);
- `portal.views.server_error` (handler500), for everything else: the session loaded by
  SessionTimeoutMiddleware for every signed-in request, the session saved on the way out, a
  context processor while a template renders.

Only connection failures count (OperationalError, InterfaceError). IntegrityError,
ProgrammingError and DataError are bugs in our code and stay 500s.

Redis that cannot be reached gets the same answer where a request needs it: a cache read is a
miss (lib/cache.py), but a rate limit that cannot count (accounts/limits.py) refuses to send the
e-mail and the person is asked to try again in a minute. Sending tasks never needs the broker
during a request: the outbox row commits with the change and is sent later (workflows/outbox.py).

The answer never touches the database: no session, no user, no context processors.
"""

import logging
from collections.abc import Callable
from typing import TypeGuard

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from portal.health import Health

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 60
API_PREFIX = "/api/"


def is_database_down(error: BaseException | None) -> TypeGuard[OperationalError | InterfaceError]:
    return isinstance(error, OperationalError | InterfaceError)


def is_redis_down(error: BaseException | None) -> TypeGuard[RedisConnectionError | RedisTimeoutError]:
    return isinstance(error, RedisConnectionError | RedisTimeoutError)


def is_dependency_down(
    error: BaseException | None,
) -> TypeGuard[OperationalError | InterfaceError | RedisConnectionError | RedisTimeoutError]:
    return is_database_down(error) or is_redis_down(error)


def database_down_response(request: HttpRequest, error: BaseException) -> HttpResponse:
    message = str(error).strip().splitlines()
    logger.warning(
        "%s method=%s path=%s error=%s message=%s",
        "cache_unavailable" if is_redis_down(error) else "database_unavailable",
        request.method,
        request.path,
        type(error).__name__,
        message[0] if message else "-",
    )
    response: HttpResponse
    if request.path.startswith(API_PREFIX):
        detail = gettext(
            "The service is briefly unavailable. Nothing you have already submitted has been lost. "
            "Please try again in a minute."
        )
        response = JsonResponse({"detail": detail}, status=503)
    elif request.path == reverse("healthz") and is_database_down(error):
        # The monitor's shape, when a session cookie made the middleware fail before the check ran.
        response = JsonResponse(Health(database=f"error: {type(error).__name__}").as_dict(), status=503)
    else:
        # No request: RequestContext would run the context processors, which load the user.
        response = HttpResponse(render_to_string("503.html"), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    add_never_cache_headers(response)
    # The warning above is this response's log line: without the mark Django's request log
    # adds an ERROR (with a traceback, on the handler500 path) for every 5xx.
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


class DatabaseDownMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if is_dependency_down(exception):
            return database_down_response(request, exception)
        return None
