"""No global lock (issue 16), on real PostgreSQL with real threads and connections:
- several clerks working one application at once: no deadlock, no 5xx, every answered look in
  the access log (and then in the transparency log);
- one application's transaction held open mid-event does not hold up another application's
  event or a submit for another service (nothing waits, per pg_locks);
- two sequencers at once, and writers racing a sequencer: each row integrated exactly once."""

import random
import threading
import time
from collections import Counter

import pytest
from django.db import connection, transaction
from django.test import Client

from accounts.models import Role
from accounts.tests.factories import MembershipFactory, UserFactory
from portal.security.audit import audit_verify
from tests.support.concurrency import in_threads
from workflows.apply.actions import group_submit
from workflows.engine.events import event_record
from workflows.models import Application, ApplicationEvent, DataAccessRecord, LogLeaf, WorkItem
from workflows.tests.test_apply_submission import _ready_draft
from workflows.tests.test_apply_support import build_catalogue
from workflows.tests.test_workbench_support import attach_lease, routed_application, version_with
from workflows.transparency.sequencer import log_integrate

pytestmark = pytest.mark.django_db(transaction=True)

THREE_MARKET_REVIEWS = {
    "steps": [
        {"key": key, "department": "market", "kind": "review", "sla_days": 5, "label_en": f"Review {key}"}
        for key in ("licence", "food", "hygiene")
    ]
}
LOOKS = {"view": DataAccessRecord.What.VIEW_APPLICATION, "reveal": DataAccessRecord.What.REVEAL_FIELD}


def deadlocks() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
        return cursor.fetchone()[0]


def test_clerks_working_one_application_at_once_never_deadlock_or_lose_a_look(alice, department_a):
    application = routed_application(applicant=alice, version=version_with(THREE_MARKET_REVIEWS))
    lease = attach_lease(application)
    items = list(application.work_items.values_list("pk", flat=True))
    assert len(items) == 3
    clerks = [
        MembershipFactory(
            user=UserFactory(username=f"clerk.{n}", display_name=f"Clerk {n}", is_staff=True),
            department=department_a,
            role=Role.CLERK,
        ).user
        for n in range(6)
    ]
    before = deadlocks()

    def work(number: int) -> dict:
        clerk, rng = clerks[number], random.Random(number)
        client = Client(raise_request_exception=False)
        client.force_login(clerk)
        statuses: Counter = Counter()
        answered: Counter = Counter()
        for _ in range(12):
            item = rng.choice(items)
            base = f"/workbench/items/{item}/"
            for look, response in (
                ("view", client.get(base)),
                ("reveal", client.post(f"{base}reveal/", {"field": "person.id_number"})),
                ("document", client.get(f"{base}documents/{lease.pk}/")),
            ):
                statuses[response.status_code] += 1
                if response.status_code == 200:
                    answered[look] += 1
            statuses[client.post(f"{base}claim/").status_code] += 1
            if WorkItem.objects.filter(pk=item, assignee=clerk, status=WorkItem.Status.CLAIMED).exists():
                if rng.random() < 0.25:
                    statuses[client.post(f"{base}decide/", {"decision": "approved"}).status_code] += 1
                else:
                    statuses[client.post(f"{base}release/").status_code] += 1
        return {"statuses": statuses, "answered": answered}

    results = in_threads(len(clerks), work)

    errors = [r for r in results if isinstance(r, BaseException)]
    assert errors == []
    statuses = sum((r["statuses"] for r in results), Counter())
    assert not [code for code in statuses if code >= 500], statuses
    assert deadlocks() == before
    assert WorkItem.objects.filter(pk__in=items, status=WorkItem.Status.DONE).exists()  # decisions were made too
    for number, result in enumerate(results):
        for look in ("view", "reveal"):
            recorded = DataAccessRecord.objects.filter(accessor=clerks[number], what=LOOKS[look]).count()
            assert recorded == result["answered"][look], (number, look)
        opened = DataAccessRecord.objects.filter(accessor=clerks[number], what=DataAccessRecord.What.OPEN_DOCUMENT)
        assert opened.count() == result["answered"]["document"]
    # Every look and event is then in the transparency log, and the log verifies.
    log_integrate()
    assert LogLeaf.objects.filter(source="data_access").count() == DataAccessRecord.objects.count()
    assert LogLeaf.objects.filter(source="application_event").count() == ApplicationEvent.objects.count()
    assert audit_verify().ok


def test_an_open_transaction_mid_event_holds_up_no_other_application_or_submit(alice, department_a, department_b):
    held = routed_application(applicant=alice, version=version_with())
    other = routed_application(applicant=alice, version=version_with())
    draft = _ready_draft(alice, build_catalogue(), life_event=False)
    inserted, finish = threading.Event(), threading.Event()
    holder_pid: list[int] = []

    def hold() -> None:
        try:
            with transaction.atomic():
                application = Application.objects.select_for_update().get(pk=held.pk)
                event_record(application=application, kind=ApplicationEvent.Kind.STEP_CLAIMED, reason="held open")
                DataAccessRecord.objects.create(
                    accessor=alice, applicant=alice, application=application, what="view_application"
                )
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_backend_pid()")
                    holder_pid.append(cursor.fetchone()[0])
                inserted.set()
                finish.wait(30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert inserted.wait(10)
        with connection.cursor() as cursor:
            cursor.execute("SET statement_timeout = '3s'")
            cursor.execute("SELECT pg_backend_pid()")
            (my_pid,) = cursor.fetchone()
        started = time.monotonic()
        with transaction.atomic():
            application = Application.objects.select_for_update().get(pk=other.pk)
            event_record(application=application, kind=ApplicationEvent.Kind.STEP_CLAIMED, reason="not held up")
            DataAccessRecord.objects.create(
                accessor=alice, applicant=alice, application=application, what="view_application"
            )
        submitted = group_submit(applicant=alice, group_id=draft.pk, idempotency_key="while-held")
        integrated = log_integrate()  # the sequencer skips what is not committed; it does not wait either
        elapsed = time.monotonic() - started
        with connection.cursor() as cursor:
            # Only this database's sessions: the server may be running other databases' work.
            cursor.execute(
                "SELECT l.pid, l.locktype, l.mode FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
                " WHERE NOT l.granted AND a.datname = current_database()"
            )
            waiting = cursor.fetchall()
            cursor.execute("SELECT count(*) FROM pg_locks WHERE pid = %s AND locktype = 'advisory'", [holder_pid[0]])
            (advisory,) = cursor.fetchone()
            cursor.execute("SET statement_timeout = 0")
        assert submitted.created
        assert waiting == [], waiting  # nobody is waiting for a lock…
        assert advisory == 0  # …and the open transaction holds no global lock
        assert elapsed < 3, elapsed
        assert integrated > 0
        assert my_pid != holder_pid[0]
        assert not ApplicationEvent.objects.filter(reason="held open").exists()  # still uncommitted
    finally:
        finish.set()
        holder.join(30)
    log_integrate()
    held_event = ApplicationEvent.objects.get(reason="held open")
    assert LogLeaf.objects.filter(source="application_event", row_id=held_event.pk).exists()
    assert audit_verify().ok


def test_two_sequencers_at_once_integrate_each_row_exactly_once(alice, clerk_a):
    application = routed_application(applicant=alice, version=version_with())
    DataAccessRecord.objects.bulk_create(
        [
            DataAccessRecord(accessor=clerk_a, applicant=alice, application=application, what="view_application")
            for _ in range(600)
        ]
    )
    rows = DataAccessRecord.objects.count() + ApplicationEvent.objects.count()

    results = in_threads(3, lambda _i: log_integrate(batch_size=40))

    assert not [r for r in results if isinstance(r, BaseException)], results
    assert sum(results) == rows  # each row counted by exactly one sequencer
    assert LogLeaf.objects.count() == rows
    assert sorted(LogLeaf.objects.values_list("index", flat=True)) == list(range(rows))
    report = audit_verify()
    assert report.ok, report.problems
    assert report.tree_size == rows


def test_writers_racing_the_sequencer_leave_no_row_out_and_none_twice(alice, clerk_a):
    application = routed_application(applicant=alice, version=version_with())
    stop = threading.Event()

    def work(number: int) -> int:
        if number == 0:  # the sequencer, running while the others write
            total = 0
            while not stop.is_set():
                total += log_integrate(batch_size=25)
            return total
        for n in range(40):
            with transaction.atomic():
                if n % 2:
                    ApplicationEvent.objects.create(application=application, kind="race", payload={"w": number, "n": n})
                DataAccessRecord.objects.create(accessor=clerk_a, applicant=alice, what="view_application")
                if n % 7 == 0:
                    time.sleep(0.005)  # commit order differs from id order
        if number == 4:
            stop.set()
        return 0

    def run(number: int) -> int:
        try:
            return work(number)
        finally:
            if number == 4:
                stop.set()

    results = in_threads(5, run)
    assert not [r for r in results if isinstance(r, BaseException)], results
    log_integrate()
    rows = DataAccessRecord.objects.count() + ApplicationEvent.objects.count()
    assert LogLeaf.objects.count() == rows
    report = audit_verify()
    assert report.ok, report.problems
