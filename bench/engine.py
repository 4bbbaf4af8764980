"""Scenario `engine`: what the routing engine costs per application, in process, on PostgreSQL.

Each application takes the route

    submit → three parallel reviews in three departments → join → a final review → approved

with every claim and decision made through the engine's actions and every task (the start,
notifications, e-mail deliveries) run in-process after its commit, as the embedded mode does.
Per application it counts, through Django's `execute_wrapper` on the one connection:

- `statements`: every SQL statement sent (savepoints included, BEGIN/COMMIT not);
- `durable_transactions`: commits of transactions that changed a row, plus statements in
  autocommit that changed one (each is a WAL flush the database waits for);
- `async_commits`: statements in autocommit that changed a row with `synchronous_commit` off for
  their own transaction (the e-mails recorded as sent): their commit does not wait for a flush,
  so they are not durable transactions;
- `rows_written`: rows inserted, updated or deleted;
- `ms`: wall time; `python_cpu_ms` and `postgres_cpu_ms` (the server process of this
  connection, read from /proc when the server runs on this machine).

An application that does not end approved with its four work items done and the expected
events and notifications is a failure: `make bench` then exits non-zero. The same function runs
in the normal suite at 20 applications with a statement budget
(workflows/tests/test_engine_budget.py).

    DATABASE_URL=postgres://…/scratch python -m bench.engine --applications 50
"""

import argparse
import io
import json
import os
import statistics
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

ROUTE: dict[str, Any] = {
    "steps": [
        {"key": "licence", "department": "market", "kind": "review", "sla_days": 5},
        {"key": "fire", "department": "fire", "kind": "review", "sla_days": 5},
        {"key": "tax", "department": "tax", "kind": "review", "sla_days": 5},
        {"key": "final", "department": "market", "kind": "review", "sla_days": 3, "after": ["licence", "fire", "tax"]},
    ]
}
PARALLEL = ("licence", "fire", "tax")
SERVICE_CODE = "bench-engine"
WRITES = ("INSERT", "UPDATE", "DELETE")
# What a statement that commits without waiting for the WAL flush sets for its own transaction.
ASYNC_COMMIT = "set_config('synchronous_commit', 'off', true)"
# Every event the route writes, once each: what a correct run leaves behind.
EXPECTED_EVENTS = Counter(
    {"routing_started": 1, "step_opened": 4, "step_claimed": 4, "step_approved": 4, "application_approved": 1}
)
EXPECTED_NOTIFICATIONS = Counter({"receipt": 1, "decision": 1, "rating_invitation": 1})


@dataclass
class Tally:
    statements: int = 0
    commits: int = 0
    durable_commits: int = 0
    autocommit_writes: int = 0
    async_commits: int = 0
    rows_written: int = 0
    savepoints: int = 0
    by_table: Counter = field(default_factory=Counter)

    @property
    def durable_transactions(self) -> int:
        return self.durable_commits + self.autocommit_writes


class Meter:
    """Counts what one connection sends (see the module docstring) while `on` is set."""

    def __init__(self, connection) -> None:
        self.connection = connection
        self.tally = Tally()
        self.on = False
        self._wrote = False
        self.trace: list[str] | None = [] if os.environ.get("ENGINE_BENCH_TRACE") else None

    def __call__(self, execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if not self.on:
            return result
        tally = self.tally
        tally.statements += 1
        if self.trace is not None:
            self.trace.append(("A " if self.connection.get_autocommit() else "T ") + sql[:160])
        head = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else ""
        if head == "WITH":
            # A data-modifying WITH (a claim's lock and update) counts as its write; its rows
            # are the rows it returns (one per work item it claims).
            head = _with_write(sql) or head
        if head in ("SAVEPOINT", "RELEASE", "ROLLBACK"):
            tally.savepoints += head == "SAVEPOINT"
            return result
        if head in WRITES:
            rowcount = getattr(context["cursor"], "rowcount", 0) or 0
            tally.rows_written += max(rowcount, 0)
            if rowcount:
                tally.by_table[f"rows {_table(sql, head)}"] += rowcount
            # A statement that changed no row writes no commit record: nothing to flush.
            if rowcount and self.connection.get_autocommit():
                if ASYNC_COMMIT in sql:
                    tally.async_commits += 1
                else:
                    tally.autocommit_writes += 1
            elif rowcount:
                self._wrote = True
        tally.by_table[f"{head.lower()} statements"] += 1
        return result

    @contextmanager
    def installed(self) -> Iterator["Meter"]:
        connection = self.connection
        original = connection._commit

        def commit() -> None:
            if self.on:
                if self.trace is not None:
                    self.trace.append("COMMIT")
                self.tally.commits += 1
                self.tally.durable_commits += self._wrote
            self._wrote = False
            return original()

        connection._commit = commit
        try:
            with connection.execute_wrapper(self):
                yield self
        finally:
            del connection._commit

    def take(self) -> Tally:
        tally, self.tally = self.tally, Tally()
        if self.trace is not None:
            with open(os.environ["ENGINE_BENCH_TRACE"], "w") as out:
                out.write("\n".join(self.trace))
            self.trace = []
        return tally


def _with_write(sql: str) -> str | None:
    """The kind of the first data-modifying statement inside a WITH (a lock's FOR UPDATE is none)."""
    words = sql.upper().split()
    for index, word in enumerate(words):
        if word in WRITES and not (word == "UPDATE" and index and words[index - 1] in ("FOR", "NO", "KEY")):
            return word
    return None


def _table(sql: str, head: str) -> str:
    words = sql.replace('"', " ").split()
    marker = {"INSERT": "INTO", "UPDATE": "UPDATE", "DELETE": "FROM"}[head]
    for index, word in enumerate(words):
        if index and marker == "UPDATE" and words[index - 1].upper() in ("FOR", "KEY"):
            continue  # a lock, not the write
        if word.upper() == marker and index + 1 < len(words):
            return words[index + 1]
    return "?"


def _server_cpu_seconds(pid: int | None) -> float | None:
    if pid is None:
        return None
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def calendar_load() -> None:
    """The official working-day calendar, and next year's fixed-date holidays (provisional) when
    it is not published yet: deadlines filed in December reach into it."""
    from django.core.management import call_command
    from django.utils import timezone

    from workflows.models import CalendarYear

    call_command("load_holidays", verbosity=0, stdout=io.StringIO(), stderr=io.StringIO())
    next_year = timezone.localdate().year + 1
    if not CalendarYear.objects.filter(year=next_year).exists():
        call_command("load_holidays", provisional=[next_year], year=[], stdout=io.StringIO(), stderr=io.StringIO())


@dataclass
class Cast:
    version: Any
    applicant: Any
    clerks: dict[str, Any]


def cast() -> Cast:
    """The service with the bench route, an applicant with an e-mail address, a clerk per department."""
    from django.db import transaction

    from accounts.demo import seed_departments
    from accounts.models import Membership, Role, User
    from services.actions import version_publish
    from services.models import DataElement, FormField, Service, ServiceVersion

    with transaction.atomic():
        departments = {department.code: department for department in seed_departments()}
        service, _ = Service.objects.get_or_create(
            code=SERVICE_CODE,
            defaults={
                "lead_department": departments["market"],
                "name_en": "Engine bench service",
                "name_zh": "引擎基准服务",
                "category": "business",
            },
        )
        version = service.versions.filter(status=ServiceVersion.Status.PUBLISHED).first()
        if version is None or version.route != ROUTE:
            number = (service.versions.order_by("-number").values_list("number", flat=True).first() or 0) + 1
            draft = ServiceVersion.objects.create(service=service, number=number, time_limit_days=20, route=ROUTE)
            name, _ = DataElement.objects.get_or_create(
                key="business.name", defaults={"kind": "text", "label_en": "Business name", "label_zh": "企业名称"}
            )
            FormField.objects.create(version=draft, element=name, order=0, required=False)
            version = version_publish(version=draft, actor=None)
        applicant, _ = User.objects.get_or_create(
            username="bench.engine.applicant",
            defaults={"display_name": "Bench Applicant", "email": "bench.applicant@example.org"},
        )
        clerks = {}
        for code in ("market", "fire", "tax"):
            clerk, _ = User.objects.get_or_create(
                username=f"bench.engine.{code}", defaults={"display_name": f"Bench clerk {code}", "is_staff": True}
            )
            Membership.objects.get_or_create(user=clerk, department=departments[code], role=Role.CLERK)
            clerks[code] = clerk
    return Cast(version=version, applicant=applicant, clerks=clerks)


def _submit(cast: Cast) -> int:
    """What the apply step leaves: a submitted group and application, and its start task."""
    from django.db import transaction
    from django.utils import timezone

    from workflows.models import Application, ApplicationGroup
    from workflows.outbox import outbox_enqueue

    data = {"business.name": "Bench Noodles"}
    # An application submitted alone gives its submission its own number (as apply does).
    number = f"EB-{uuid.uuid4().hex[:12].upper()}"
    with transaction.atomic():
        now = timezone.now()
        group = ApplicationGroup.objects.create(applicant=cast.applicant, data=data, submitted_at=now, number=number)
        application = Application.objects.create(
            group=group,
            applicant=cast.applicant,
            number=number,
            service=cast.version.service,
            service_version=cast.version,
            data=data,
            submitted_at=now,
        )
        outbox_enqueue(task="workflows.application_start", kwargs={"application_id": application.pk})
    return application.pk


def _items(application_id: int) -> dict[str, int]:
    from workflows.models import WorkItem

    return dict(WorkItem.objects.filter(application_id=application_id).values_list("step_key", "pk"))


def _review(work_item_id: int, clerk) -> None:
    from workflows.engine import actions

    actions.work_item_claim(work_item_id=work_item_id, clerk=clerk)
    actions.work_item_decide(work_item_id=work_item_id, actor=clerk, decision="approved")


def check(application_id: int) -> list[str]:
    """What is wrong with an application the route has finished (nothing: an empty list)."""
    from workflows.models import Application, ApplicationEvent, Notification, NotificationDelivery, WorkItem

    problems = []
    application = Application.objects.get(pk=application_id)
    if application.status != Application.Status.APPROVED:
        problems.append(f"status {application.status}, not approved")
    items = list(WorkItem.objects.filter(application_id=application_id).values_list("step_key", "status", "decision"))
    expected_items = sorted((step["key"], "done", "approved") for step in ROUTE["steps"])
    if sorted(items) != expected_items:
        problems.append(f"work items {sorted(items)}")
    events = Counter(ApplicationEvent.objects.filter(application_id=application_id).values_list("kind", flat=True))
    if events != EXPECTED_EVENTS:
        problems.append(f"events {dict(events)}")
    notifications = Counter(Notification.objects.filter(application_id=application_id).values_list("event", flat=True))
    if notifications != EXPECTED_NOTIFICATIONS:
        problems.append(f"notifications {dict(notifications)}")
    unsent = NotificationDelivery.objects.filter(notification__application_id=application_id).exclude(
        state=NotificationDelivery.State.SENT
    )
    if unsent.exists():
        problems.append("deliveries not sent")
    return [f"application {application.number}: {problem}" for problem in problems]


@contextmanager
def in_process() -> Iterator[None]:
    """Tasks run in-process after commit (as in the embedded mode), e-mail stays in memory."""
    from celery import current_app
    from django.test.utils import override_settings

    eager = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = True
    try:
        with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
            yield
    finally:
        current_app.conf.task_always_eager = eager


def run(*, applications: int = 20, warmup: int = 2) -> dict[str, Any]:
    """Runs `warmup` + `applications` applications one at a time; returns the figures per application."""
    from django.db import connection

    the_cast = cast()
    meter = Meter(connection)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        server_pid = cursor.fetchone()[0]
    rows: list[dict[str, Any]] = []
    failures: list[str] = []
    tables: Counter = Counter()
    with in_process(), meter.installed():
        for index in range(warmup + applications):
            measured = index >= warmup
            clock_started, cpu_started = time.perf_counter(), time.process_time()
            server_started = _server_cpu_seconds(server_pid)
            meter.on = True
            application_id = _submit(the_cast)
            meter.on = False
            elapsed = time.perf_counter() - clock_started
            items = _items(application_id)  # where a clerk's queue would show them: not counted
            started = time.perf_counter()
            meter.on = True
            for key, code in zip(PARALLEL, ("market", "fire", "tax"), strict=True):
                _review(items[key], the_cast.clerks[code])
            meter.on = False
            elapsed += time.perf_counter() - started
            final = _items(application_id).get("final")
            started = time.perf_counter()
            meter.on = True
            if final is not None:
                _review(final, the_cast.clerks["market"])
            meter.on = False
            elapsed += time.perf_counter() - started
            cpu = time.process_time() - cpu_started
            server_ended = _server_cpu_seconds(server_pid)
            tally = meter.take()
            problems = check(application_id)
            if not measured:
                failures += problems
                continue
            failures += problems
            tables.update(tally.by_table)
            rows.append(
                {
                    "statements": tally.statements,
                    "savepoints": tally.savepoints,
                    "commits": tally.commits,
                    "durable_transactions": tally.durable_transactions,
                    "autocommit_writes": tally.autocommit_writes,
                    "async_commits": tally.async_commits,
                    "rows_written": tally.rows_written,
                    "ms": elapsed * 1000,
                    "python_cpu_ms": cpu * 1000,
                    "postgres_cpu_ms": None
                    if server_started is None or server_ended is None
                    else (server_ended - server_started) * 1000,
                }
            )
    return summary(rows, failures=failures, tables=tables)


def summary(rows: list[dict[str, Any]], *, failures: list[str], tables: Counter) -> dict[str, Any]:
    def median(key: str) -> float | None:
        values = [row[key] for row in rows if row[key] is not None]
        return round(statistics.median(values), 2) if values else None

    def mean(key: str) -> float | None:
        # CPU is read in clock ticks (10 ms): only the mean over many applications says anything.
        values = [row[key] for row in rows if row[key] is not None]
        return round(statistics.fmean(values), 2) if values else None

    def most(key: str) -> int:
        return max((row[key] for row in rows), default=0)

    count = len(rows) or 1
    return {
        "applications": len(rows),
        "statements_per_application": most("statements"),
        "savepoints_per_application": most("savepoints"),
        "commits_per_application": most("commits"),
        "durable_transactions_per_application": most("durable_transactions"),
        "autocommit_writes_per_application": most("autocommit_writes"),
        "async_commits_per_application": most("async_commits"),
        "rows_written_per_application": most("rows_written"),
        "ms_per_application": median("ms"),
        "ms_p95": round(sorted(row["ms"] for row in rows)[int(0.95 * (len(rows) - 1))], 2) if rows else None,
        "python_cpu_ms_per_application": mean("python_cpu_ms"),
        "postgres_cpu_ms_per_application": mean("postgres_cpu_ms"),
        # "<kind> statements": statements per application; "rows <table>": rows written per application.
        "statements_and_rows": {name: round(total / count, 2) for name, total in tables.most_common()},
        "failures": failures,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--applications", type=int, default=50)
    options = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    if connection.vendor != "postgresql":
        raise SystemExit("bench.engine measures PostgreSQL: set DATABASE_URL to a scratch database")
    call_command("migrate", "--noinput", verbosity=0)
    calendar_load()
    result = run(applications=options.applications)
    print(json.dumps(result, indent=1))
    if result["failures"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
