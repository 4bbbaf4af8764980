"""Spans in tests: the web side (this process) into the SDK's in-memory exporter, a real
worker's into a JSON-lines file (TRACING_SPANS_FILE, portal/tracing.py)."""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connections
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from portal.tracing import instrument, spans_of, uninstrument

_exporter = InMemorySpanExporter()
_provider: TracerProvider | None = None


class _WhileRecording(SimpleSpanProcessor):
    """Keeps spans only while a test asks for them: the provider stays set for the rest of the
    run (it cannot be unset), and later tests' spans must not pile up in memory."""

    recording = False

    def on_end(self, span) -> None:
        if self.recording:
            super().on_end(span)


_processor = _WhileRecording(_exporter)


def _test_provider() -> TracerProvider:
    """One provider per test process (OpenTelemetry allows the global one to be set once)."""
    global _provider
    if _provider is None:
        _provider = TracerProvider()
        _provider.add_span_processor(_processor)
        trace.set_tracer_provider(_provider)
    return _provider


class WebSpans:
    def all(self) -> list[dict[str, Any]]:
        return spans_of(_exporter.get_finished_spans())


@pytest.fixture
def web_spans() -> Iterator[WebSpans]:
    """This process traced as a web process is: Django, psycopg, Redis and Celery instrumented.
    The database connections are reopened, so the test's statements go through the traced
    connection (use with transactional tests only)."""
    provider = _test_provider()
    _exporter.clear()
    _processor.recording = True
    instrument(tracer_provider=provider, django=True)
    connections.close_all()
    try:
        yield WebSpans()
    finally:
        _processor.recording = False
        uninstrument()
        connections.close_all()
        _exporter.clear()


def file_spans(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def by_id(spans: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {span["context"]["span_id"]: span for span in spans}


def ancestors(span: dict[str, Any], index: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The span's parent, its parent, … as far as the spans known reach."""
    chain = []
    while (parent := span.get("parent_id")) and parent in index:
        span = index[parent]
        chain.append(span)
    return chain
