"""What the log's pages answer when its signing key cannot be used (keys.LogKeyUnavailable):
503 with a plain message for the person, and one ERROR line for the operator that says which key,
which origin and what to change. Never a 500 with a traceback.

A page gets a page; an endpoint gets a page when a browser asks (it prefers text/html), else
{"detail": ...} for a script or a witness.
"""

import functools
import logging
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _

from workflows.transparency.keys import LogKeyUnavailable

logger = logging.getLogger("workflows.transparency")


def log_unavailable_response(request: HttpRequest, error: LogKeyUnavailable, *, page: bool) -> HttpResponse:
    logger.error("transparency log unavailable path=%s problem=%s", request.path, error)
    message = _(
        "The public log cannot be shown right now: the portal cannot use the key that signs it. "
        "Nothing recorded has been lost; every record is added to the log once the key is fixed. "
        "The portal's operators have been told."
    )
    response: HttpResponse
    if page or request.get_preferred_type(["application/json", "text/html"]) == "text/html":
        response = render(request, "workflows/transparency/unavailable.html", {"message": message}, status=503)
    else:
        response = JsonResponse({"detail": message}, status=503)
    add_never_cache_headers(response)
    # The ERROR above is this response's log line: without the mark Django's request log adds
    # another (with a traceback) for the 5xx.
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


View = Callable[..., HttpResponse]


def answers_when_log_key_unavailable(*, page: bool = False) -> Callable[[View], View]:
    """Wraps a view that publishes the log's keys or checks its signatures. `page`: the view is
    an HTML page (else the answer follows the Accept header)."""

    def decorator(view: View) -> View:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                return view(request, *args, **kwargs)
            except LogKeyUnavailable as error:
                return log_unavailable_response(request, error, page=page)

        return wrapped

    return decorator
