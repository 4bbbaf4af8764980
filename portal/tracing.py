"""Traces (OpenTelemetry): one trace from a request through the outbox to every task it causes.

Configured once per process, after any fork: the web process from portal/wsgi.py (and asgi.py),
each worker child from Celery's `worker_process_init` and the beat from `beat_init`
(portal/celery.py). Off unless one of these is set:

- `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`): spans are exported by
  OTLP over HTTP (batched, in a background thread). The SDK's own variables apply
  (`OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_TRACES_SAMPLER`, `OTEL_SERVICE_NAME`, …).
- `TRACING_SPANS_FILE`: each span is appended to that file as one JSON line as it ends (for a
  developer without a collector, and for the tests, which read a real worker's spans from it).

Off, nothing is instrumented and the API's no-op tracer is all that runs.

What is traced: Django requests (span name: method and URL pattern), psycopg statements (the
SQL with its placeholders, never the parameters), Redis commands (the command name with its
arguments replaced by "?"), Celery sends and runs (`apply_async/<task>`, `run/<task>`), and
`outbox publish <task>` around each send of an outbox row, whose parent is the span that wrote
the row (workflows/outbox.py, lib/trace_context.py).

Never personal data: the request's URL is recorded without its query string, no request or
response bodies or headers beyond the user agent, and the signed-in person by id only
(`enduser.id`). portal/tests/test_telemetry_privacy.py holds that after a whole journey.
"""

import io
import logging
import os
import threading
from collections.abc import Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)

logger = logging.getLogger(__name__)

SPANS_FILE_ENV = "TRACING_SPANS_FILE"
ENDPOINT_ENVS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
# URL attributes of the request span, recorded by the WSGI instrumentation with the query string.
URL_ATTRIBUTES = ("http.url", "http.target", "url.full")

_lock = threading.Lock()
_configured_pid: int | None = None


def tracing_wanted() -> bool:
    if os.environ.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return False
    return any(os.environ.get(name) for name in (*ENDPOINT_ENVS, SPANS_FILE_ENV))


def span_processors() -> list[SpanProcessor]:
    """Where spans go, from the environment (see the module's docstring)."""
    processors: list[SpanProcessor] = []
    if any(os.environ.get(name) for name in ENDPOINT_ENVS):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        processors.append(BatchSpanProcessor(OTLPSpanExporter()))
    if path := os.environ.get(SPANS_FILE_ENV):
        processors.append(SimpleSpanProcessor(spans_file_exporter(path)))
    return processors


def spans_file_exporter(path: str) -> SpanExporter:
    """The SDK's console exporter writing one JSON line per span to `path`, appended. Each line
    goes out in one write, so the worker's pool processes can share the file."""
    stream = io.TextIOWrapper(open(path, "ab", buffering=1 << 20), encoding="utf-8", line_buffering=True)  # noqa: SIM115
    return ConsoleSpanExporter(out=stream, formatter=lambda span: span.to_json(indent=None) + "\n")


def tracing_configure(*, service: str, instrument_django: bool = False) -> bool:
    """Sets the process's tracer provider and instruments psycopg, Redis, Celery (and Django's
    middleware for a web process), once per process. Returns whether tracing is on."""
    global _configured_pid
    if not tracing_wanted():
        return False
    with _lock:
        if _configured_pid == os.getpid():
            return True
        resource = Resource.create({} if os.environ.get("OTEL_SERVICE_NAME") else {SERVICE_NAME: service})
        provider = TracerProvider(resource=resource)
        for processor in span_processors():
            provider.add_span_processor(processor)
        trace.set_tracer_provider(provider)
        instrument(tracer_provider=provider, django=instrument_django)
        _configured_pid = os.getpid()
    logger.info("tracing on service=%s", service)
    return True


def instrument(*, tracer_provider: TracerProvider | None = None, django: bool = False) -> None:
    """Instruments the libraries we trace (the tests call it with their own provider)."""
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor

    # Statements with their placeholders only: the parameters (names, resident IDs) stay out.
    PsycopgInstrumentor().instrument(tracer_provider=tracer_provider, capture_parameters=False)
    RedisInstrumentor().instrument(tracer_provider=tracer_provider)
    CeleryInstrumentor().instrument(tracer_provider=tracer_provider)
    if django:
        from opentelemetry.instrumentation.django import DjangoInstrumentor

        DjangoInstrumentor().instrument(
            tracer_provider=tracer_provider, request_hook=request_hook, response_hook=response_hook
        )


def uninstrument() -> None:
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor

    for instrumentor in (DjangoInstrumentor(), CeleryInstrumentor(), RedisInstrumentor(), PsycopgInstrumentor()):
        instrumentor.uninstrument()


def _without_query(span: trace.Span) -> None:
    attributes = getattr(span, "attributes", None) or {}
    for name in URL_ATTRIBUTES:
        value = attributes.get(name)
        if isinstance(value, str) and "?" in value:
            span.set_attribute(name, value.split("?", 1)[0])


def request_hook(span: trace.Span, request: Any) -> None:
    """Query strings hold what people search for (a name, a resident ID): never recorded."""
    if span.is_recording():
        _without_query(span)


def response_hook(span: trace.Span, request: Any, response: Any) -> None:
    if not span.is_recording():
        return
    _without_query(span)
    from portal.request_context import user_id_var

    user_id = user_id_var.get()
    if user_id is not None:
        span.set_attribute("enduser.id", str(user_id))


def spans_of(spans: Sequence[ReadableSpan]) -> list[dict[str, Any]]:
    """Spans as plain dicts (the shape of the spans file's lines), for tests and tools."""
    import json

    return [json.loads(span.to_json(indent=None)) for span in spans]
