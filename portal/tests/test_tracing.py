"""One trace from the submit request through the outbox and the broker to every task it causes,
in a real worker process: the web side's spans read from the SDK's in-memory exporter, the
worker's from its spans file (portal/tracing.py). Also when the outbox relay sends the task
later, from outside the request: the row's stored traceparent makes it the same trace."""

import json
import logging
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from opentelemetry import trace

from lib.trace_context import current_traceparent, span_restored
from portal.request_context import RequestContextFilter
from tests.support.processes import free_port, producer_broker, wait_until
from tests.support.tracing import ancestors, by_id, file_spans
from workflows.models import OutboxMessage
from workflows.outbox import outbox_relay
from workflows.tests.test_apply_submission import _ready_draft
from workflows.tests.test_apply_support import build_catalogue

SUBMIT_SPAN = "POST applications/<int:group_id>/submit/"


def submit(client, group) -> None:
    review = client.get(f"/applications/{group.pk}/review/").content.decode()
    token = review.split('name="token" value="')[1].split('"')[0]
    assert client.post(f"/applications/{group.pk}/submit/", {"token": token}).status_code == 302


def tracing_worker(worker_factory, tmp_path: Path) -> Path:
    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()
    spans_file = tmp_path / "worker-spans.jsonl"
    worker_factory(extra_env={"TRACING_SPANS_FILE": str(spans_file), "LOG_FORMAT": "json"})
    return spans_file


def worker_ran(spans_file: Path, task: str) -> bool:
    return any(span["name"] == f"run/{task}" for span in file_spans(spans_file))


def assert_parent_chain(worker_span: dict, index: dict, root: dict) -> list[str]:
    """worker run ← apply_async (the send) ← outbox publish ← … ← root; returns the names."""
    chain = ancestors(worker_span, index)
    names = [span["name"] for span in chain]
    task = worker_span["name"].removeprefix("run/")
    assert worker_span["kind"] == "SpanKind.CONSUMER"
    assert names[:2] == [f"apply_async/{task}", f"outbox publish {task}"], names
    assert chain[0]["kind"] == "SpanKind.PRODUCER"
    assert chain[-1]["context"]["span_id"] == root["context"]["span_id"], names
    return names


@pytest.mark.django_db(transaction=True)
def test_a_submit_is_one_trace_from_the_request_through_the_outbox_to_every_task(
    client, worker_factory, alice, tmp_path, web_spans
):
    spans_file = tracing_worker(worker_factory, tmp_path)
    group = _ready_draft(alice, build_catalogue())
    client.force_login(alice)
    submit(client, group)
    # The second hop: a task sent (through the outbox) by a task the submit sent.
    wait_until(lambda: worker_ran(spans_file, "workflows.step_run"), 60, message="the step ran in the worker")

    web, worker = web_spans.all(), file_spans(spans_file)
    request = next(span for span in web if span["name"] == SUBMIT_SPAN)
    assert request["kind"] == "SpanKind.SERVER" and request["parent_id"] is None
    trace_id = request["context"]["trace_id"]
    index = by_id(web + worker)

    starts = [span for span in worker if span["name"] == "run/workflows.application_start"]
    assert len(starts) == 3  # one per application of the life event
    for start in starts:
        assert start["context"]["trace_id"] == trace_id
        # web → outbox publish (in the request) → Celery send → the worker's run
        assert_parent_chain(start, index, request)
        assert start["resource"]["attributes"]["service.name"] == "onedoor-worker"

    steps = [span for span in worker if span["name"] == "run/workflows.step_run"]
    assert steps and all(span["context"]["trace_id"] == trace_id for span in steps)
    # worker → outbox publish (in the worker's task) → send → the next task, up to the request.
    names = assert_parent_chain(steps[0], index, request)
    assert "run/workflows.application_start" in names
    # The worker's statements are in the trace too, under the task that ran them.
    assert any(
        span["attributes"].get("db.system") == "postgresql" and span["parent_id"] == starts[0]["context"]["span_id"]
        for span in worker
    )
    # Outbox rows remember the span that wrote them.
    assert OutboxMessage.objects.exclude(traceparent="").filter(traceparent__contains=trace_id[2:]).count() >= 3


@pytest.mark.django_db(transaction=True)
def test_a_task_the_relay_sends_later_is_still_in_the_submits_trace(client, worker_factory, alice, tmp_path, web_spans):
    spans_file = tracing_worker(worker_factory, tmp_path)
    group = _ready_draft(alice, build_catalogue())
    client.force_login(alice)
    # The broker is down while the request commits: its sends fail and stay in the outbox.
    with producer_broker(f"redis://127.0.0.1:{free_port()}/0"):
        submit(client, group)
    unsent = OutboxMessage.objects.filter(task="workflows.application_start", sent_at__isnull=True)
    assert unsent.count() == 3

    # The relay, later and outside any request (as the beat runs it), sends them.
    with trace.get_tracer("tests").start_as_current_span("relay round") as relay:
        assert outbox_relay(now=timezone.now() + timedelta(seconds=30)) >= 3
    wait_until(lambda: worker_ran(spans_file, "workflows.application_start"), 60, message="the routing ran")

    web, worker = web_spans.all(), file_spans(spans_file)
    request = next(span for span in web if span["name"] == SUBMIT_SPAN)
    index = by_id(web + worker)
    starts = [span for span in worker if span["name"] == "run/workflows.application_start"]
    assert starts
    for start in starts:
        assert start["context"]["trace_id"] == request["context"]["trace_id"]
        assert_parent_chain(start, index, request)
        publish = ancestors(start, index)[1]
        # The relay's round is linked to the send, not made its parent.
        assert [link["context"]["span_id"] for link in publish["links"]] == [
            "0x" + trace.format_span_id(relay.get_span_context().span_id)
        ]


@pytest.mark.django_db
def test_an_outbox_row_written_outside_any_trace_has_no_traceparent(django_capture_on_commit_callbacks):
    from workflows.outbox import outbox_enqueue

    with django_capture_on_commit_callbacks(execute=False), transaction.atomic():
        message = outbox_enqueue(task="workflows.outbox_relay", kwargs={})
    assert current_traceparent() == "" and message.traceparent == ""


def test_log_records_carry_the_trace_and_span_ids_while_a_span_is_current(web_spans):
    from opentelemetry.sdk.trace import TracerProvider

    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello", None, None)
    RequestContextFilter().filter(record)
    assert record.trace_id is None and record.span_id is None  # type: ignore[attr-defined]
    tracer = TracerProvider().get_tracer("tests")
    with tracer.start_as_current_span("work") as span, span_restored("", "inner"):
        RequestContextFilter().filter(record)
    assert record.trace_id == trace.format_trace_id(span.get_span_context().trace_id)  # type: ignore[attr-defined]
    assert record.span_id != trace.format_span_id(span.get_span_context().span_id)  # type: ignore[attr-defined]
    assert len(record.span_id) == 16  # type: ignore[attr-defined]
    json.dumps(record.__dict__, default=str)


def test_without_an_exporter_configured_tracing_stays_off(monkeypatch):
    from portal.tracing import span_processors, tracing_configure, tracing_wanted

    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "TRACING_SPANS_FILE"):
        monkeypatch.delenv(name, raising=False)
    assert not tracing_wanted() and span_processors() == []
    assert tracing_configure(service="onedoor-web") is False
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    assert not tracing_wanted()


def test_spans_go_to_the_collector_by_otlp_over_http_when_an_endpoint_is_set(monkeypatch):
    """A real HTTP server stands in for the collector: it receives the protobuf export."""
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider

    from portal.tracing import span_processors

    received: list[tuple[str, bytes]] = []

    class Collector(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append((self.path, self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.delenv("TRACING_SPANS_FILE", raising=False)
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{server.server_port}")
        processors = span_processors()
        assert len(processors) == 1
        provider = TracerProvider(resource=Resource.create({"service.name": "onedoor-web"}))
        provider.add_span_processor(processors[0])
        with provider.get_tracer("tests").start_as_current_span("outbox publish workflows.step_run"):
            pass
        assert provider.force_flush(10_000)
        provider.shutdown()
    finally:
        server.shutdown()
        server.server_close()
    assert [path for path, _ in received] == ["/v1/traces"]
    export = ExportTraceServiceRequest()
    export.ParseFromString(received[0][1])
    spans = [span for resource in export.resource_spans for scope in resource.scope_spans for span in scope.spans]
    assert [span.name for span in spans] == ["outbox publish workflows.step_run"]
