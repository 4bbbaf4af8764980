"""The engine with real `celery worker` processes, a real Redis broker, and faults: duplicate
deliveries, a worker child killed mid-step, a whole worker killed, the broker down at submit.
The two kill tests run on both brokers: Redis, and RabbitMQ (quorum queues, publisher confirms)
in a throwaway virtual host of the machine's RabbitMQ (marker `rabbitmq`).

Durations and recovery delays are printed (run with -s to see them) and asserted loosely."""

import contextlib
import os
import re
import signal
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from django.conf import settings

from accounts.models import VerifiedAttribute
from documents.models import Certificate
from portal.celery import app as celery_app
from tests.support.processes import RabbitMQVhost, producer_broker, wait_until
from workflows.engine import actions, automatic
from workflows.models import Application, ApplicationEvent, OutboxMessage, TaxpayerNumber, WorkItem
from workflows.notifications.hooks import EVENTS_NOTIFY_TASK
from workflows.outbox import outbox_relay
from workflows.tests import engine_handlers  # noqa: F401 - registers the test handlers here too
from workflows.tests.factories import application_submit, published_version

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

TEST_HANDLERS = {"ENGINE_HANDLER_MODULES": "workflows.tests.engine_handlers"}
TAX_ONLY = {"steps": [{"key": "tax", "department": "tax", "kind": "automatic", "handler": "tax.register"}]}


# The stalled-step sweep's threshold in the whole-worker test: above the task time limit that
# a 20 s visibility timeout gives (5 s), as ENGINE_STALE_STEP_SECONDS must be in production.
STALE_SECONDS = float(os.environ.get("ENGINE_TEST_STALE_SECONDS", "15"))


def slow_route(log: Path, seconds: float) -> dict:
    return {
        "steps": [
            {"key": "slow", "department": "tax", "kind": "automatic", "handler": "test.slow",
             "options": {"seconds": seconds, "log": str(log)}},
            {"key": "tax", "department": "tax", "kind": "automatic", "handler": "tax.register", "after": ["slow"]},
        ]
    }  # fmt: skip


@pytest.fixture
def verified_alice(alice):
    VerifiedAttribute.objects.create(
        user=alice, element_key="person.full_name", value=alice.display_name, source="identity"
    )
    return alice


@pytest.fixture
def clean_broker() -> None:
    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()


# A whole worker killed on RabbitMQ: the broker gives the message back when the connection drops,
# so the step starts again as soon as a worker consumes (its start-up included), with no sweep.
RABBITMQ_REDELIVERY_SECONDS = 10


@pytest.fixture(params=["redis", pytest.param("rabbitmq", marks=pytest.mark.rabbitmq)])
def fault_broker(request, use_broker) -> Iterator[tuple[str, RabbitMQVhost | None]]:
    """The broker of a fault test, empty: the test Redis, or the run's RabbitMQ virtual host with
    this process sending to it as a RabbitMQ deployment does."""
    if request.param == "redis":
        redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()
        yield settings.CELERY_BROKER_URL, None
        return
    vhost: RabbitMQVhost = request.getfixturevalue("rabbitmq_vhost")
    with producer_broker(vhost.url):
        with celery_app.connection_for_write() as conn:
            for name in vhost.queues():
                conn.default_channel.queue_purge(name)
        yield vhost.url, vhost


def item(application: Application, key: str) -> WorkItem:
    return WorkItem.objects.filter(application=application, step_key=key).order_by("-round").first()


def status_of(application: Application) -> str:
    return Application.objects.values_list("status", flat=True).get(pk=application.pk)


def step_status(application: Application, key: str) -> str | None:
    found = item(application, key)
    return found.status if found else None


def approve(application: Application, key: str, clerk) -> None:
    work = item(application, key)
    actions.work_item_claim(work_item_id=work.pk, clerk=clerk)
    actions.work_item_decide(work_item_id=work.pk, actor=clerk, decision="approved")


def runs(log: Path) -> tuple[list[int], list[int]]:
    lines = log.read_text().split("\n") if log.exists() else []
    starts = [int(line.split()[1]) for line in lines if line.startswith("start")]
    ends = [int(line.split()[1]) for line in lines if line.startswith("end")]
    return starts, ends


def test_the_restaurant_route_runs_on_department_queues_in_real_workers(celery_worker, verified_alice, clerk_a):
    started = time.monotonic()
    application = application_submit(applicant=verified_alice, version=published_version())
    wait_until(lambda: step_status(application, "licence") == "open", 30, message="identity check in the worker")
    approve(application, "licence", clerk_a)
    wait_until(lambda: step_status(application, "tax") == "done", 30, message="tax registration in the worker")
    assert step_status(application, "fire") == "skipped"
    assert step_status(application, "food") == "open"
    assert step_status(application, "issue") is None  # the join waits for the food review
    tax = item(application, "tax")
    assert tax.result["ran_on"]["queue"] == "dept.tax"
    assert tax.result["ran_on"]["worker"] == celery_worker.name
    assert tax.result["ran_on"]["pid"] != os.getpid()
    assert item(application, "identity").result["ran_on"]["queue"] == "dept.psb"
    approve(application, "food", clerk_a)
    wait_until(lambda: status_of(application) == "approved", 60, message="certificate issued by the worker")
    assert item(application, "issue").result["ran_on"]["queue"] == "dept.market"
    assert Certificate.objects.filter(application_number=application.number).count() == 1
    print(f"\nend-to-end with a real worker: {time.monotonic() - started:.1f}s")


def test_duplicate_deliveries_make_one_transition_and_one_taxpayer_number(celery_worker, verified_alice):
    application = application_submit(applicant=verified_alice, version=published_version(route=TAX_ONLY), start=False)
    actions.application_start(application_id=application.pk)  # sends step_run after commit
    tax = item(application, "tax")
    for _ in range(3):  # the same task delivered three more times, at once
        celery_app.send_task("workflows.step_run", kwargs={"work_item_id": tax.pk}, queue="dept.tax")
    celery_app.send_task("workflows.application_start", kwargs={"application_id": application.pk})
    wait_until(lambda: celery_worker.log().count("workflows.step_run[") >= 8, 30, message="all deliveries handled")
    wait_until(lambda: status_of(application) == "approved", 30, message="approval")
    assert TaxpayerNumber.objects.filter(application=application).count() == 1
    assert ApplicationEvent.objects.filter(application=application, kind="step_completed").count() == 1
    assert ApplicationEvent.objects.filter(application=application, kind="routing_started").count() == 1
    assert ApplicationEvent.objects.filter(application=application, kind="application_approved").count() == 1


def test_a_worker_child_killed_mid_step_is_redelivered_and_completes_once(
    worker_factory, fault_broker, verified_alice, tmp_path
):
    log = tmp_path / "slow.log"
    worker = worker_factory(broker_url=fault_broker[0], extra_env=TEST_HANDLERS)
    started = time.monotonic()
    application = application_submit(applicant=verified_alice, version=published_version(route=slow_route(log, 4)))
    wait_until(lambda: len(runs(log)[0]) == 1, 30, message="the slow step to start")
    victim = runs(log)[0][0]
    assert victim in worker.child_pids()
    os.kill(victim, signal.SIGKILL)
    killed_at = time.monotonic()
    wait_until(lambda: len(runs(log)[0]) == 2, 60, message="the step to be redelivered")
    redelivered_after = time.monotonic() - killed_at
    wait_until(lambda: status_of(application) == "approved", 60, message="the route to finish")
    starts, ends = runs(log)
    assert len(starts) == 2 and len(ends) == 1 and starts[1] != victim
    slow = item(application, "slow")
    assert slow.status == WorkItem.Status.DONE
    assert ApplicationEvent.objects.filter(work_item=slow, kind="step_completed").count() == 1
    assert TaxpayerNumber.objects.filter(application=application).count() == 1
    print(f"\nchild killed: redelivered after {redelivered_after:.1f}s; test took {time.monotonic() - started:.1f}s")


def test_a_whole_worker_killed_mid_step_is_recovered_and_completes_once(
    worker_factory, fault_broker, verified_alice, tmp_path
):
    """kill -9 of the main process and its children while a step runs. On Redis the message comes
    back after the (short) visibility timeout, with the stalled-step sweep (run here as the beat
    would) as the backstop. On RabbitMQ the quorum queue gives it back as soon as the connection
    drops: the test runs no sweep and no relay, and the step must start again within seconds of
    a worker being there."""
    broker_url, vhost = fault_broker
    log = tmp_path / "slow.log"
    env = {**TEST_HANDLERS, "CELERY_VISIBILITY_TIMEOUT": "20"}
    worker = worker_factory(broker_url=broker_url, extra_env=env)
    started = time.monotonic()
    application = application_submit(applicant=verified_alice, version=published_version(route=slow_route(log, 3)))
    wait_until(lambda: len(runs(log)[0]) == 1, 30, message="the slow step to start")
    worker.kill()
    killed_at = time.monotonic()
    worker_factory(broker_url=broker_url, extra_env=env)
    ready_at = time.monotonic()
    recovered_by_sweep = 0
    redelivered_after_ready = 0.0

    if vhost is not None:
        wait_until(lambda: len(runs(log)[0]) == 2, 60, message="RabbitMQ to redeliver the step")
        redelivered_after_ready = time.monotonic() - ready_at
        assert redelivered_after_ready < RABBITMQ_REDELIVERY_SECONDS
        wait_until(lambda: status_of(application) == "approved", 60, message="the route to finish")
    else:

        def finished() -> bool:
            nonlocal recovered_by_sweep
            recovered_by_sweep += automatic.stalled_steps_recover(stale_seconds=STALE_SECONDS)
            outbox_relay(resend_after=30)
            return status_of(application) == "approved"

        wait_until(finished, 150, interval=1, message="recovery after the worker was killed")
    recovered_after = time.monotonic() - killed_at
    starts, ends = runs(log)
    assert len(starts) == 2 and len(ends) == 1
    slow = item(application, "slow")
    assert ApplicationEvent.objects.filter(work_item=slow, kind="step_completed").count() == 1
    assert TaxpayerNumber.objects.filter(application=application).count() == 1
    if vhost is not None:
        # Ran on quorum queues, one per department, sent with publisher confirms.
        queues = vhost.queues()
        assert {queues[name]["type"] for name in ("default", "dept.tax", "dept.psb")} == {"quorum"}
        assert item(application, "tax").result["ran_on"]["queue"] == "dept.tax"
        with celery_app.connection_for_write() as conn:
            assert conn.transport_options["confirm_publish"] is True
    how = (
        f"RabbitMQ redelivery {redelivered_after_ready:.1f}s after the new worker was ready"
        if vhost is not None
        else "stalled-step sweep"
        if recovered_by_sweep
        else "visibility-timeout redelivery"
    )
    print(
        f"\nwhole worker killed ({'rabbitmq' if vhost else 'redis'}): finished {recovered_after:.1f}s later ({how}; "
        f"new worker ready {ready_at - killed_at:.1f}s after the kill); test took {time.monotonic() - started:.1f}s"
    )


def test_a_step_that_fails_is_retried_after_its_backoff_and_completes_once(
    worker_factory, fault_broker, verified_alice
):
    """The retry's countdown waits on the broker: on RabbitMQ in Celery's delayed-delivery queues
    (quorum queues cannot hold a message back), never in a worker's memory."""
    broker_url, vhost = fault_broker
    worker_factory(broker_url=broker_url, extra_env={**TEST_HANDLERS, "ENGINE_RETRY_BACKOFF_SECONDS": "1"})
    route = {"steps": [{"key": "tax", "department": "tax", "kind": "automatic", "handler": "test.flaky",
                        "options": {"fail_times": 2}}]}  # fmt: skip
    application = application_submit(applicant=verified_alice, version=published_version(route=route))
    wait_until(lambda: status_of(application) == "approved", 60, message="the step to succeed on its third attempt")
    tax = item(application, "tax")
    assert tax.attempts == 3
    assert ApplicationEvent.objects.filter(work_item=tax, kind="step_completed").count() == 1
    if vhost is not None:
        assert vhost.queues()["celery_delayed_0"]["type"] == "quorum"


def test_submissions_commit_while_the_broker_is_down_and_route_once_it_is_back(
    throwaway_redis, worker_factory, verified_alice
):
    started = time.monotonic()
    version = published_version(route=TAX_ONLY)
    with producer_broker(throwaway_redis.url):
        # Started inside: the readiness ping is published through this process's producer.
        worker_factory(broker_url=throwaway_redis.url)
        throwaway_redis.stop()
        submit_started = time.monotonic()
        applications = [application_submit(applicant=verified_alice, version=version) for _ in range(5)]
        submit_seconds = (time.monotonic() - submit_started) / len(applications)
        assert all(status_of(application) == "submitted" for application in applications)
        unsent = OutboxMessage.objects.filter(task="workflows.application_start", confirmed_at=None)
        assert unsent.count() == 5 and all(message.last_error for message in unsent)
        throwaway_redis.start()  # same port, empty
        back_at = time.monotonic()

        def all_approved() -> bool:
            outbox_relay(resend_after=10)
            return all(status_of(application) == "approved" for application in applications)

        wait_until(all_approved, 120, interval=1, message="routing after the broker came back")
        routed_after = time.monotonic() - back_at
    for application in applications:
        assert TaxpayerNumber.objects.filter(application=application).count() == 1
        assert ApplicationEvent.objects.filter(application=application, kind="routing_started").count() == 1
    print(
        f"\nbroker down: each submit took {submit_seconds * 1000:.0f}ms; all routed {routed_after:.1f}s after the "
        f"broker came back; test took {time.monotonic() - started:.1f}s"
    )


@pytest.mark.rabbitmq
def test_on_rabbitmq_submissions_commit_while_the_broker_refuses_and_route_once_it_is_back(
    worker_factory, use_broker, verified_alice
):
    """The machine's RabbitMQ is shared, so it is not stopped: the test's own virtual host is
    deleted instead (RabbitMQ closes its connections and refuses new ones) and made again empty."""
    vhost = RabbitMQVhost()
    vhost.create()
    try:
        version = published_version(route=TAX_ONLY)
        with producer_broker(vhost.url):
            worker_factory(broker_url=vhost.url)
            vhost.delete()
            applications = [application_submit(applicant=verified_alice, version=version) for _ in range(3)]
            assert all(status_of(application) == "submitted" for application in applications)
            unsent = OutboxMessage.objects.filter(task="workflows.application_start", confirmed_at=None)
            assert unsent.count() == 3 and all(message.last_error for message in unsent)
            vhost.create()  # the same name, empty
            back_at = time.monotonic()

            def all_approved() -> bool:
                outbox_relay(resend_after=10)
                return all(status_of(application) == "approved" for application in applications)

            wait_until(all_approved, 120, interval=1, message="routing after the broker came back")
        for application in applications:
            assert TaxpayerNumber.objects.filter(application=application).count() == 1
            assert ApplicationEvent.objects.filter(application=application, kind="routing_started").count() == 1
        print(f"\nRabbitMQ refusing: all routed {time.monotonic() - back_at:.1f}s after it was back")
    finally:
        with contextlib.suppress(RuntimeError):
            vhost.delete()


def test_a_rolled_back_transaction_puts_nothing_on_the_broker(use_broker, clean_broker, verified_alice):
    from django.db import transaction

    from workflows.outbox import outbox_enqueue

    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    with pytest.raises(RuntimeError), transaction.atomic():
        outbox_enqueue(task="workflows.outbox_relay", kwargs={})
        outbox_enqueue(task="workflows.outbox_relay", kwargs={}, queue="dept.tax")
        raise RuntimeError("failed after writing outbox rows")
    outbox_enqueue(task="workflows.outbox_relay", kwargs={})  # a committed one for contrast (autocommit)
    assert client.llen("default") == 1
    assert client.llen("dept.tax") == 0
    assert OutboxMessage.objects.count() == 1


BACKEND_ONLY = {"steps": [{"key": "backend", "department": "tax", "kind": "automatic", "handler": "test.backend"}]}


def test_a_worker_keeps_its_database_connection_across_tasks_and_replaces_a_broken_one(
    worker_factory, clean_broker, verified_alice
):
    """One pool process, several tasks: one PostgreSQL backend serves them all (a connection per
    task would fork a backend each time). When that backend is killed, the next task notices
    the broken connection (CONN_HEALTH_CHECKS) and completes on a new one."""
    from django.db import connection

    worker_factory(concurrency=1, extra_env=TEST_HANDLERS)
    version = published_version(route=BACKEND_ONLY)

    def run_one() -> dict:
        application = application_submit(applicant=verified_alice, version=version)
        wait_until(lambda: step_status(application, "backend") == "done", 30, message="the backend step")
        return item(application, "backend").result

    first, second, third = run_one(), run_one(), run_one()
    assert first["pid"] == second["pid"] == third["pid"]  # the one pool process
    # Each application also ran its start task in between: still the same connection.
    assert first["backend"] == second["backend"] == third["backend"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [third["backend"]])
    after = run_one()
    assert after["pid"] == first["pid"]
    assert after["backend"] != first["backend"]
    assert run_one()["backend"] == after["backend"]


OUTBOX_HERE = {"steps": [{"key": "here", "department": "tax", "kind": "automatic", "handler": "test.outbox_here"}]}


def received(worker, task: str) -> bool:
    """Whether the worker took a message of `task` from its broker ("Task name[id] received")."""
    return re.search(rf"Task {re.escape(task)}\[[^]]+\] received", worker.log()) is not None


def outbox_here_run(verified_alice, log: Path) -> dict:
    route = {"steps": [{**OUTBOX_HERE["steps"][0], "options": {"log": str(log)}}]}
    application = application_submit(applicant=verified_alice, version=published_version(route=route))
    wait_until(lambda: step_status(application, "here") == "done", 30, message="the step writing outbox rows")
    wait_until(lambda: log.exists(), 30, message="the recording task")
    return item(application, "here").result


def test_a_worker_runs_the_tasks_its_task_wrote_after_the_commit_without_the_broker(
    worker_factory, clean_broker, verified_alice, tmp_path
):
    """A task declared run_here_after_commit, written by a task on a queue this worker consumes,
    runs in the same process once that task commits: no message; the row confirmed. One that
    fails stays unconfirmed, counted as a send with its backoff, for the relay to send again."""
    worker = worker_factory(concurrency=1, extra_env=TEST_HANDLERS)
    log = tmp_path / "here.log"
    result = outbox_here_run(verified_alice, log)
    assert log.read_text().split() == [str(result["pid"])]  # once, in the step's own process
    assert not received(worker, "workflows.test_here_records")  # it ran, but no message came
    assert OutboxMessage.objects.get(task="workflows.test_here_records").confirmed_at is not None
    failed = OutboxMessage.objects.get(task="workflows.test_here_fails")
    assert failed.confirmed_at is None and failed.attempts == 1
    assert "the notification service is down" in failed.last_error
    assert failed.sent_at is not None
    assert failed.next_attempt_at - failed.sent_at == timedelta(seconds=settings.ENGINE_OUTBOX_RESEND_SECONDS)
    # The receipt of the application's start went the same way: built here, confirmed, not sent.
    assert received(worker, "workflows.application_start")
    assert not received(worker, EVENTS_NOTIFY_TASK)
    assert not OutboxMessage.objects.filter(task=EVENTS_NOTIFY_TASK, confirmed_at__isnull=True).exists()
    # The relay's re-send goes through the broker, to any process of the pool.
    outbox_relay(now=failed.next_attempt_at)
    wait_until(lambda: received(worker, "workflows.test_here_fails"), 30, message="the re-sent task received")


def test_with_run_here_off_the_worker_sends_them_through_the_broker(
    worker_factory, clean_broker, verified_alice, tmp_path
):
    worker = worker_factory(concurrency=1, extra_env={**TEST_HANDLERS, "ENGINE_OUTBOX_RUN_HERE": "false"})
    log = tmp_path / "here.log"
    outbox_here_run(verified_alice, log)
    wait_until(
        lambda: OutboxMessage.objects.get(task="workflows.test_here_records").confirmed_at is not None,
        30,
        message="the recording task's confirmation",
    )
    assert received(worker, "workflows.test_here_records")
    assert received(worker, EVENTS_NOTIFY_TASK)
