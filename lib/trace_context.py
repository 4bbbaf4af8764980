"""Carrying a trace across a stored row: the W3C `traceparent` of the span that wrote it, and
that span restored as the parent of the work done for the row later, in another transaction or
process (the outbox relay re-sending a task).

Without tracing configured there is no current span: `current_traceparent()` returns "" and
`span_restored("")` starts nothing, so this costs nothing worth measuring.
"""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from opentelemetry import context, propagate, trace

TRACEPARENT = "traceparent"
# "00-<32 hex trace id>-<16 hex span id>-<2 hex flags>"
TRACEPARENT_LENGTH = 55


def current_traceparent() -> str:
    """The W3C traceparent of the current span, or "" outside any (recording or sampled-out) span."""
    if not trace.get_current_span().get_span_context().is_valid:
        return ""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    value = carrier.get(TRACEPARENT, "")
    return value if len(value) == TRACEPARENT_LENGTH else ""


@contextmanager
def span_restored(traceparent: str, name: str, attributes: Mapping[str, str | int] | None = None) -> Iterator[None]:
    """Runs the block in a new span `name` whose parent is the span `traceparent` names (the one
    that wrote the row), linked to the span current here (say, the relay's own run), so the
    work a stored row causes joins the trace that caused it. Without a stored parent the span is
    a child of the current one. Without tracing configured nothing is recorded."""
    here = trace.get_current_span().get_span_context()
    parent = propagate.extract({TRACEPARENT: traceparent}) if traceparent else None
    stored = trace.get_current_span(parent).get_span_context() if parent is not None else None
    restored = parent is not None and stored is not None and stored.is_valid
    # Sent from elsewhere (the relay): the span here is linked, not the parent.
    elsewhere = restored and here.is_valid and stored is not None and stored.span_id != here.span_id
    links = [trace.Link(here)] if elsewhere else None
    tracer = trace.get_tracer(__name__)
    token = context.attach(parent) if restored and parent is not None else None
    try:
        with tracer.start_as_current_span(name, attributes=attributes, links=links):
            yield
    finally:
        if token is not None:
            context.detach(token)
