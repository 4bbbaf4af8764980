"""Every response has an X-Request-ID and every log line its request; a safe id from the load
balancer is kept, anything else replaced; tasks sent during a request carry its id to the
worker; JSON and plain log lines stay one line whatever a person typed."""

import io
import json
import logging

import pytest
import redis
from celery import current_app, shared_task
from django.conf import settings

from accounts.tests.factories import UserFactory
from portal.logging import JsonLineFormatter, SingleLineFormatter
from portal.request_context import RequestContextFilter, application_var, request_id_var

pytestmark = pytest.mark.django_db

FORGED = '2026-01-01 00:00:00 INFO portal.security login_succeeded user=1 {"level": "INFO"}'


def formatted(formatter: logging.Formatter, message: str, *args: object) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.addFilter(RequestContextFilter())
    logger = logging.getLogger("tests.request_context")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning(message, *args)
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    return stream.getvalue()


def test_a_response_carries_a_new_request_id(client):
    first, second = client.get("/"), client.get("/")
    assert len(first["X-Request-ID"]) == 32
    assert first["X-Request-ID"] != second["X-Request-ID"]


def test_a_safe_request_id_from_the_load_balancer_is_kept(client):
    response = client.get("/", headers={"X-Request-ID": "lb-7f3a9c.01:2"})
    assert response["X-Request-ID"] == "lb-7f3a9c.01:2"


@pytest.mark.parametrize("unsafe", ["a b", "x" * 65, "id\r\nSet-Cookie: a=b", "<script>", "é"])
def test_an_unsafe_request_id_is_replaced(client, unsafe):
    response = client.get("/", headers={"X-Request-ID": unsafe})
    assert response["X-Request-ID"] != unsafe
    assert len(response["X-Request-ID"]) == 32


def test_log_lines_of_a_request_carry_its_id_and_the_user_id_never_the_name(client, caplog):
    alice = UserFactory(username="alice", display_name="Alice Wang")
    client.force_login(alice)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLineFormatter())
    handler.addFilter(RequestContextFilter())
    logging.getLogger().addHandler(handler)
    try:
        response = client.get("/applications/2026-XXX-000001/", headers={"X-Request-ID": "trace-me-1"})
    finally:
        logging.getLogger().removeHandler(handler)
    assert response.status_code == 404
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert lines, "the 404 to a signed-in person is logged"
    for line in lines:
        assert line["request_id"] == "trace-me-1"
        assert line["user_id"] == str(alice.pk)
        assert line["application"] == "2026-XXX-000001"
        assert "Alice" not in json.dumps(line)
    assert request_id_var.get() is None and application_var.get() is None  # nothing outlives the request


def test_a_json_line_stays_one_line_whatever_was_typed():
    text = formatted(JsonLineFormatter(), "login_failed username=%s", f"mallory\r\n{FORGED}")
    assert text.count("\n") == 1  # the handler's terminator only
    record = json.loads(text)
    assert record["message"] == f"login_failed username=mallory\r\n{FORGED}"
    assert set(record) >= {"time", "level", "logger", "message", "request_id", "user_id", "application"}


def test_a_plain_line_escapes_line_breaks_and_shows_the_request_id():
    token = request_id_var.set("req-42")
    try:
        text = formatted(
            SingleLineFormatter("%(levelname)s [%(request_id)s user=%(user_id)s] %(message)s"),
            "x=%s",
            f"a\n{FORGED}",
        )
    finally:
        request_id_var.reset(token)
    assert text == f"WARNING [req-42 user=None] x=a\\n{FORGED}\n"


@shared_task(name="tests.request_context.report")
def report(**kwargs: object) -> str | None:
    logging.getLogger("tests.request_context").info("task ran")
    return request_id_var.get()


def test_a_task_sent_during_a_request_carries_its_id_in_a_header(use_broker):
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.delete("tests.request-context")
    token = request_id_var.set("req-from-web")
    try:
        current_app.send_task("tests.request_context.report", queue="tests.request-context")
    finally:
        request_id_var.reset(token)
    message = json.loads(broker.lpop("tests.request-context"))
    assert message["headers"]["request_id"] == "req-from-web"


def test_a_worker_runs_the_task_under_the_id_it_was_sent_with():
    assert report.apply(headers={"request_id": "req-from-web"}).get() == "req-from-web"
    assert len(report.apply().get()) == 32  # the beat's tasks get an id of their own
    assert report.apply(headers={"request_id": "bad id\nforged"}).get() != "bad id\nforged"


@pytest.mark.django_db(transaction=True)
def test_a_submissions_tasks_log_its_request_id_in_a_real_worker(client, worker_factory, alice, tmp_path):
    """web → outbox → broker → worker: the worker's JSON lines for the routing carry the id the
    submit request was answered with, and the tasks those tasks send carry it on."""
    from tests.support.processes import wait_until
    from workflows.tests.test_apply_submission import _ready_draft
    from workflows.tests.test_apply_support import build_catalogue

    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()
    worker = worker_factory(extra_env={"LOG_FORMAT": "json"})
    group = _ready_draft(alice, build_catalogue())
    client.force_login(alice)
    review = client.get(f"/applications/{group.pk}/review/").content.decode()
    token = review.split('name="token" value="')[1].split('"')[0]
    response = client.post(
        f"/applications/{group.pk}/submit/", {"token": token}, headers={"X-Request-ID": "submit-e2e-42"}
    )
    assert response.status_code == 302 and response["X-Request-ID"] == "submit-e2e-42"

    def lines_of_the_submit() -> list[dict]:
        records = [json.loads(line) for line in worker.log().splitlines() if line.startswith("{")]
        return [record for record in records if record.get("request_id") == "submit-e2e-42"]

    def step_ran() -> bool:  # the second hop: a task sent by the task the submit sent
        return any("workflows.step_run" in record["message"] for record in lines_of_the_submit())

    wait_until(step_ran, 60, message="the issue step ran under the submit's request id")
    started = [record for record in lines_of_the_submit() if "routing_started" in record["message"]]
    assert len(started) == 3 and all(record["application"] for record in started)
