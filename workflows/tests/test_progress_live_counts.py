"""The dashboard's backlog from the live work counters: once refreshed, the same rows and totals
as the live query over every work item (workflows/tests/dashboard_raw.py keeps it); a refresh
run twice changes nothing; a transition shows after the next refresh; the daily check finds
and repairs drift; a supervisor sees only their departments' counters."""

import importlib
import uuid
from datetime import datetime, time, timedelta
from types import SimpleNamespace

import pytest
from django.apps import apps as django_apps
from django.db import connection
from django.db.models import F
from django.utils import timezone

from accounts.models import Department, Role
from services.models import Service
from tests.conftest import staff_member
from workflows.models import (
    Application,
    ApplicationGroup,
    DashboardRollupState,
    LiveWorkCount,
    LiveWorkSnapshot,
    WorkItem,
)
from workflows.progress import live_counts
from workflows.progress.dashboard import Period, dashboard_for
from workflows.progress.live_counts import LiveDrift, backlog, live_counts_refresh
from workflows.progress.rollups import rollups_check, rollups_rebuild, rollups_refresh
from workflows.tests import dashboard_raw
from workflows.tests.factories import published_version
from workflows.tests.progress_support import ONE_STEP, decide, submit

pytestmark = pytest.mark.django_db
DAY = timedelta(days=1)
LIVE_FIGURES = ("backlog", "backlog_total", "overdue_total", "waiting_for_applicant_total")


def _application(version, applicant) -> Application:
    group = ApplicationGroup.objects.create(
        applicant=applicant, submitted_at=timezone.now() - 3 * DAY, number=f"G-{uuid.uuid4().hex[:10]}"
    )
    return Application.objects.create(
        group=group,
        applicant=applicant,
        number=f"L-{uuid.uuid4().hex[:10]}",
        service=version.service,
        service_version=version,
        status=Application.Status.IN_PROGRESS,
        submitted_at=group.submitted_at,
    )


def _figures(board) -> dict:
    return {name: getattr(board, name) for name in LIVE_FIGURES}


def counters() -> set[tuple]:
    return set(
        LiveWorkCount.objects.values_list("department_id", "service_id", "step_key", "due_day", "waiting", "count")
    )


def snapshots() -> dict[int, list]:
    return dict(LiveWorkSnapshot.objects.values_list("application_id", "keys"))


@pytest.fixture
def varied(frozen_now, alice, department_a, department_b):
    """Live work of three departments and three services at several steps: overdue, due earlier
    and later today, due later, without a due time, the clock stopped, failed; and finished work."""
    now = timezone.now()
    today = timezone.localdate(now)
    midnight = timezone.make_aware(datetime.combine(today, time.min))
    tomorrow = timezone.make_aware(datetime.combine(today + DAY, time.min))
    tax = Department.objects.create(code="tax", short_code="TAX", name_en="Taxation", name_zh="税务局")
    market = published_version(route=ONE_STEP, code="market-svc")
    fire = published_version(route=ONE_STEP, code="fire-svc")
    food = published_version(route=ONE_STEP, code="food-svc")
    Service.objects.filter(pk=fire.service_id).update(lead_department=department_b)
    dues = {
        "overdue": now - 3 * DAY,
        "yesterday": midnight - timedelta(seconds=1),
        "midnight": midnight,  # a statutory due time: today's local midnight, already past
        "earlier today": midnight + (now - midnight) / 2,
        "later today": now + (tomorrow - now) / 2,
        "tomorrow": tomorrow,
        "later": now + 6 * DAY,
        "none": None,
    }
    statuses = [WorkItem.Status.OPEN, WorkItem.Status.CLAIMED, WorkItem.Status.WAITING, WorkItem.Status.FAILED]
    finished = [WorkItem.Status.DONE, WorkItem.Status.SKIPPED, WorkItem.Status.CANCELLED]
    plan = [
        (market, department_a, ["licence", "food"]),
        (market, department_b, ["fire"]),
        (fire, department_b, ["check", "licence"]),
        (food, tax, ["tax"]),
        (food, department_a, ["licence"]),
    ]
    index = 0
    for version, department, steps in plan:
        for label, due in dues.items():
            application = _application(version, alice)
            for round_number, step in enumerate(steps * 2, start=1):
                index += 1
                stopped = index % 5 == 0  # waiting for the applicant
                status = finished[index % 3] if index % 4 == 0 else statuses[(index // 2) % 4]
                WorkItem.objects.create(
                    application=application,
                    step_key=step,
                    round=round_number,
                    department=department,
                    kind="review",
                    status=status,
                    statutory_due_at=due,
                    clock_stopped_at=now - DAY if stopped else None,
                    label_en=label,
                )
    return {"now": now, "tax": tax, "market": market}


def _boards(user, now):
    period = Period.default(timezone.localdate(now))
    return dashboard_for(user=user, period=period, now=now), dashboard_raw.dashboard_for(
        user=user, period=period, now=now
    )


def test_the_counted_backlog_equals_the_live_query(varied, administrator, supervisor):
    rollups_rebuild()  # rows written directly, without events: counted as an upgrade counts them
    now = varied["now"]
    for user in (administrator, supervisor):
        counted, live = _boards(user, now)
        assert _figures(counted) == _figures(live)
        assert counted.backlog_total and counted.overdue_total and counted.waiting_for_applicant_total
    counted, _ = _boards(administrator, now)
    assert len(counted.backlog) >= 6
    assert counted.backlog_as_of == DashboardRollupState.objects.get().refreshed_at
    # A little later the same counters give the same figures as the live query then: the items
    # due earlier today were overdue already; those due later today become overdue as their time passes.
    tomorrow = timezone.make_aware(datetime.combine(timezone.localdate(now) + DAY, time.min))
    later = tomorrow - timedelta(seconds=1)
    counted, live = _boards(administrator, later)
    assert _figures(counted) == _figures(live)
    assert counted.overdue_total > _boards(administrator, now)[0].overdue_total


def test_a_refresh_run_twice_changes_nothing(varied, administrator):
    rollups_rebuild()
    before = (counters(), snapshots())
    rollups_refresh()
    rollups_refresh()
    # With the watermark put back, every application is recounted: still nothing changes.
    DashboardRollupState.objects.update(event_watermark=0)
    rollups_refresh()
    assert (counters(), snapshots()) == before
    counted, live = _boards(administrator, varied["now"])
    assert _figures(counted) == _figures(live)
    # Recounting every application from its snapshot changes nothing either.
    assert live_counts_refresh(Application.objects.values_list("id", flat=True)) == 0
    assert (counters(), snapshots()) == before


def test_the_rebuild_gives_the_same_counters_in_sql_and_in_python(varied, monkeypatch):
    rollups_rebuild()  # on PostgreSQL, two INSERT … SELECT statements
    in_sql = (counters(), _normalised(snapshots()))
    monkeypatch.setattr(live_counts, "connection", SimpleNamespace(vendor="sqlite"))
    live_counts.live_counts_rebuild()  # the loop the embedded database runs
    assert (counters(), _normalised(snapshots())) == in_sql
    assert live_counts_refresh(Application.objects.values_list("id", flat=True)) == 0


def _normalised(found: dict[int, list]) -> dict[int, list]:
    return {application: sorted(map(repr, keys)) for application, keys in found.items()}


def test_a_transition_shows_after_the_next_refresh(django_capture_on_commit_callbacks, alice, clerk_a, supervisor):
    rollups_refresh()
    application = submit(django_capture_on_commit_callbacks, applicant=alice, time_limit_days=10)
    rollups_refresh()
    board = dashboard_for(user=supervisor, period=Period.default())
    assert [(row["step"], row["total"], row["overdue"]) for row in board.backlog] == [("licence", 1, 0)]
    first = board.backlog_as_of

    decide(django_capture_on_commit_callbacks, application, "licence", clerk_a)
    # Until the refresh the counters are as of its last run, and say so.
    board = dashboard_for(user=supervisor, period=Period.default())
    assert board.backlog_total == 1 and board.backlog_as_of == first
    rollups_refresh()
    board = dashboard_for(user=supervisor, period=Period.default())
    assert board.backlog == [] and board.backlog_total == 0
    assert board.backlog_as_of > first
    assert not LiveWorkSnapshot.objects.filter(application_id=application.pk).exists()
    assert not LiveWorkCount.objects.exists()


def test_the_page_says_when_the_backlog_was_counted(client, django_capture_on_commit_callbacks, alice, supervisor):
    submit(django_capture_on_commit_callbacks, applicant=alice)
    rollups_refresh()
    refreshed = timezone.localtime(DashboardRollupState.objects.get().refreshed_at)
    client.force_login(supervisor)
    page = client.get("/supervision/").content.decode()
    assert f"Open work counted as of {refreshed:%H:%M}" in page
    data = client.get("/api/supervision/dashboard/").json()
    assert data["backlog_total"] == 1 and data["backlog_as_of"]


def test_a_supervisor_sees_only_their_departments_counters(client, varied, supervisor, department_b):
    rollups_rebuild()
    fire_supervisor = staff_member("supervisor.b", "Supervisor B", department_b, Role.SUPERVISOR)
    tax_supervisor = staff_member("supervisor.tax", "Supervisor Tax", varied["tax"], Role.SUPERVISOR)
    now = varied["now"]
    mine = dashboard_for(user=supervisor, period=Period.default(), now=now)
    theirs = dashboard_for(user=fire_supervisor, period=Period.default(), now=now)
    assert mine.backlog and theirs.backlog
    # The market supervisor's steps (licence, food of market and food services) are not the fire
    # supervisor's, and the other way round: no row of one is in the other's.
    assert {(r["service_en"], r["step"]) for r in mine.backlog}.isdisjoint(
        {(r["service_en"], r["step"]) for r in theirs.backlog}
    )
    # The tax supervisor sees the tax steps only, none of the market department's work.
    only_tax = dashboard_for(user=tax_supervisor, period=Period.default(), now=now)
    assert {r["step"] for r in only_tax.backlog} == {"tax"}
    assert backlog(department_ids=[varied["tax"].pk], now=now).rows == only_tax.backlog
    client.force_login(tax_supervisor)
    page = client.get("/supervision/").content.decode()
    assert "Service market-svc" not in page and "Service fire-svc" not in page
    assert client.get("/api/supervision/dashboard/").json()["backlog_total"] == only_tax.backlog_total


def test_the_check_finds_and_repairs_drift_in_the_counters(varied, administrator, caplog):
    rollups_rebuild()
    assert rollups_check() == []
    # A step finished outside the engine (no event): the counters do not know.
    gone = WorkItem.objects.filter(status=WorkItem.Status.OPEN).order_by("id")[0]
    WorkItem.objects.filter(pk=gone.pk).update(status=WorkItem.Status.CANCELLED)
    drifts = rollups_check()
    assert drifts and all(isinstance(drift, LiveDrift) for drift in drifts)
    [drift] = drifts
    assert drift.key[:3] == (gone.department_id, gone.application.service_id, gone.step_key)
    assert drift.stored == drift.raw + 1
    assert "stored" in drift.describe()
    assert DashboardRollupState.objects.get().drifted_cells == 1
    assert len(rollups_check(repair=True)) == 1
    assert rollups_check() == []
    counted, live = _boards(administrator, varied["now"])
    assert _figures(counted) == _figures(live)


def test_each_refresh_stores_how_many_of_todays_steps_were_not_yet_due(varied, administrator):
    now = varied["now"]
    today = timezone.localdate(now)
    tomorrow = timezone.make_aware(datetime.combine(today + DAY, time.min))
    rollups_rebuild()

    def ahead_of_today() -> int:
        return sum(LiveWorkCount.objects.filter(due_day=today, waiting=False).values_list("ahead", flat=True))

    not_yet_due = WorkItem.objects.filter(
        status__in=WorkItem.LIVE,
        clock_stopped_at__isnull=True,
        statutory_due_at__gte=now,
        statutory_due_at__lt=tomorrow,
    ).count()
    assert not_yet_due and ahead_of_today() == not_yet_due
    assert not LiveWorkCount.objects.exclude(due_day=today).filter(ahead__gt=0).exists()
    # A refresh later in the day: those steps have fallen due, none is ahead any more, and the
    # page needs nothing live for them.
    later = tomorrow - timedelta(seconds=1)
    rollups_refresh(now=later)
    assert ahead_of_today() == 0
    counted, live = _boards(administrator, later)
    assert _figures(counted) == _figures(live)


def test_counters_refreshed_on_an_earlier_day_give_todays_overdue(varied, administrator, supervisor):
    rollups_rebuild()
    next_morning = timezone.make_aware(
        datetime.combine(timezone.localdate(varied["now"]) + DAY, time(10, 0))
    )  # no refresh since yesterday
    for user in (administrator, supervisor):
        counted, live = _boards(user, next_morning)
        assert _figures(counted) == _figures(live)
    assert (
        _boards(administrator, next_morning)[0].overdue_total > _boards(administrator, varied["now"])[0].overdue_total
    )


def test_every_work_item_carries_its_applications_service(varied, alice, django_capture_on_commit_callbacks):
    """The engine sets it when a step opens; a direct create or bulk create fills it."""
    application = submit(django_capture_on_commit_callbacks, applicant=alice, code="engine-svc")
    assert application.work_items.exists()
    other = WorkItem.objects.filter(application=application).first()
    WorkItem.objects.bulk_create(
        [WorkItem(application=other.application, step_key="bulk", department=other.department, kind="review")]
    )
    mismatched = WorkItem.objects.exclude(service_id=F("application__service_id"))
    assert WorkItem.objects.count() > 100
    assert not mismatched.exists()
    assert not WorkItem.objects.filter(service__isnull=True).exists()


def test_the_migration_fills_the_service_in_batches(varied, monkeypatch):
    migration = importlib.import_module("workflows.migrations.0037_work_item_service")
    monkeypatch.setattr(migration, "BATCH", 7)  # many batches over the fixture's items
    expected = dict(WorkItem.objects.values_list("pk", "application__service_id"))
    WorkItem.objects.update(service=None)
    # The backfill only reads the editor's connection (a schema editor cannot open inside the
    # test's transaction on SQLite, whose path this covers too).
    migration.backfill(django_apps, SimpleNamespace(connection=connection))
    assert dict(WorkItem.objects.values_list("pk", "service_id")) == expected
    assert len(expected) > 7 * 10


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's plan")
def test_the_ahead_count_reads_one_index_and_no_application(varied):
    now = varied["now"]
    query = live_counts.ahead_query(now, now + DAY)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE workflows_workitem")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        sql, params = query.query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Index Only Scan using work_item_live_overdue" in plan, plan
    assert "workflows_application" not in plan, plan
    assert (
        sum(n for *_, n in query)
        == WorkItem.objects.filter(
            status__in=WorkItem.LIVE,
            clock_stopped_at__isnull=True,
            statutory_due_at__gte=now,
            statutory_due_at__lt=now + DAY,
        ).count()
    )
