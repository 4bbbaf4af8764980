"""Who and what a log line is about: the request id, the signed-in user's id and the application.

One request id follows a request through every log line it causes, into the response's
X-Request-ID header, and into the Celery tasks sent while it runs (a task header), whose log
lines carry it too. An incoming X-Request-ID (set by the load balancer) is kept when it is a
short safe token; anything else is replaced, so a caller cannot put arbitrary text into logs.

Only identifiers are carried: the user's primary key (never a name or a resident ID) and the
application's number (or id, in a task). They live in context variables, so they are right for
each thread and each task, and `RequestContextFilter` adds them to every log record.
"""

import logging
import re
import uuid
from collections.abc import Callable
from contextlib import suppress
from contextvars import ContextVar, Token
from typing import Any

from django.contrib.auth import SESSION_KEY
from django.http import HttpRequest, HttpResponse
from opentelemetry import trace

REQUEST_ID_HEADER = "X-Request-ID"
# Letters, digits and - _ . : up to 64 characters: a UUID, a trace id or a load balancer's id.
SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
# Application numbers in URLs and task ids in keyword arguments are identifiers, never free text.
SAFE_APPLICATION = re.compile(r"[A-Za-z0-9-]{1,40}")
TASK_HEADER = "request_id"

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
user_id_var: ContextVar[int | str | None] = ContextVar("user_id", default=None)
application_var: ContextVar[str | None] = ContextVar("application", default=None)


def safe_request_id(value: str | None) -> str:
    """The caller's request id when it is a safe token; a new one otherwise."""
    if value and SAFE_REQUEST_ID.fullmatch(value):
        return value
    return uuid.uuid4().hex


def safe_application(value: object) -> str | None:
    text = str(value) if value is not None else ""
    return text if SAFE_APPLICATION.fullmatch(text) else None


class RequestContextMiddleware:
    """First in the chain: every log line below it, even a 503 for a database that went away,
    has the request id."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = safe_request_id(request.headers.get(REQUEST_ID_HEADER))
        request.request_id = request_id  # type: ignore[attr-defined]
        tokens: list[tuple[ContextVar[Any], Token[Any]]] = [
            (request_id_var, request_id_var.set(request_id)),
            (user_id_var, user_id_var.set(None)),
            (application_var, application_var.set(None)),
        ]

        def reset() -> None:
            for var, token in tokens:
                with suppress(ValueError):  # closed in another context (a streamed response)
                    var.reset(token)

        try:
            response = self.get_response(request)
        except BaseException:
            reset()
            raise
        response[REQUEST_ID_HEADER] = request_id
        # Reset when the response is closed, after Django's own log line for a 4xx/5xx (written
        # above every middleware), so that line has the request id too.
        response._resource_closers.append(reset)  # type: ignore[attr-defined]
        return response

    def process_view(self, request: HttpRequest, view_func: Callable, view_args: Any, view_kwargs: dict) -> None:
        # After the session and authentication middleware; the session's user id costs no query
        # beyond loading the session, which the request does anyway.
        session = getattr(request, "session", None)
        if session is not None:
            user_id_var.set(session.get(SESSION_KEY))
        if "number" in view_kwargs:
            application_var.set(safe_application(view_kwargs["number"]))


class RequestContextFilter(logging.Filter):
    """Adds request_id, user_id and application to every record (None outside a request/task),
    and the current trace's trace_id and span_id (hex, None when tracing is off) so a log line
    leads to its trace (portal/tracing.py)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        record.user_id = user_id_var.get()
        record.application = application_var.get()
        span = trace.get_current_span().get_span_context()
        record.trace_id = trace.format_trace_id(span.trace_id) if span.is_valid else None
        record.span_id = trace.format_span_id(span.span_id) if span.is_valid else None
        return True


# --- Celery: the request id travels in a task header ----------------------------------------


def add_request_id_header(headers: dict | None = None, **_: object) -> None:
    """before_task_publish: a task sent during a request carries its request id."""
    request_id = request_id_var.get()
    if headers is not None and request_id and TASK_HEADER not in headers:
        headers[TASK_HEADER] = request_id


# task id → the context variables' tokens, reset when the task ends (worker or eager alike).
_task_tokens: dict[str, list[tuple[ContextVar[Any], Token[Any]]]] = {}


def enter_task(task_id: str | None = None, task: Any = None, kwargs: dict | None = None, **_: object) -> None:
    """task_prerun: the task's log lines carry the request id of the request that sent it (its
    own request's when run eagerly inside it; a new one for a task the beat sent) and the
    application it works on."""
    request = getattr(task, "request", None)
    sent_by = getattr(request, TASK_HEADER, None) if request is not None else None
    if sent_by is None and request is not None:
        sent_by = (getattr(request, "headers", None) or {}).get(TASK_HEADER)
    application = (kwargs or {}).get("application_id")
    tokens: list[tuple[ContextVar[Any], Token[Any]]] = [
        (request_id_var, request_id_var.set(safe_request_id(sent_by or request_id_var.get())))
    ]
    if application is not None:
        tokens.append((application_var, application_var.set(safe_application(application))))
    if task_id is not None:
        _task_tokens[task_id] = tokens


def leave_task(task_id: str | None = None, **_: object) -> None:
    """task_postrun: the next task (or the rest of the request, for an eager one) starts from
    the context it had before."""
    for var, token in reversed(_task_tokens.pop(task_id or "", [])):
        with suppress(ValueError):  # set in another context (a task that ran in another thread)
            var.reset(token)
