"""The supervision dashboard's rollups: the figures they give equal the raw aggregates on the
same data (percentiles within the histogram's documented precision); the refresh follows the
engine's events past its watermark, is idempotent and runs once at a time; the daily check
reports drift, and the commands rebuild and check."""

import logging
import math
import random
import threading
import uuid
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Department
from documents.models import Document
from services.models import DocumentType, LifeEvent, Service
from workflows.metrics import engine_figures
from workflows.models import (
    Application,
    ApplicationEvent,
    ApplicationGroup,
    DashboardRollup,
    DashboardRollupState,
    GroupDocument,
    Rating,
    WorkItem,
)
from workflows.progress.dashboard import Period, dashboard_for
from workflows.progress.figures import interpolate
from workflows.progress.rollups import (
    BUCKETS_PER_DOUBLING,
    bucket_of,
    percentiles,
    rollups_check,
    rollups_rebuild,
    rollups_refresh,
)
from workflows.tests import dashboard_raw
from workflows.tests.factories import published_version, supporting_type
from workflows.tests.progress_support import ONE_STEP, decide, submit

pytestmark = pytest.mark.django_db
DAY = timedelta(days=1)
# One bucket: values in a bucket are within a factor 2^(1/16) of each other (rollups.py).
PRECISION = 2 ** (1 / BUCKETS_PER_DOUBLING) - 1
PERCENTILE_KEYS = ("median_days", "p90_days", "median_share", "p90_share")


def cells() -> dict:
    return {
        (r.day, r.department_key, r.service_id): (r.counts, r.sums)
        for r in DashboardRollup.objects.order_by("day", "department_key", "service_id")
    }


# --- The histogram ---------------------------------------------------------------------------


def test_histogram_percentiles_are_within_one_bucket_of_percentile_cont():
    rng = random.Random(3)
    for size in (1, 2, 5, 40, 1000):
        values = sorted(rng.lognormvariate(11, 1.5) for _ in range(size))  # seconds: minutes to months
        buckets: dict[int, tuple[int, float]] = {}
        for value in values:
            count, total = buckets.get(bucket_of("days", value), (0, 0.0))
            buckets[bucket_of("days", value)] = (count + 1, total + value)
        found = percentiles(buckets, (0.0, 0.5, 0.9, 1.0))
        for fraction, estimate in found.items():
            exact = interpolate(values, fraction)
            assert estimate == pytest.approx(exact, rel=PRECISION), (size, fraction)
    assert percentiles({}, (0.5,)) == {0.5: None}
    # Values alone in their buckets come back exactly (the bucket keeps their sum).
    exact = {bucket_of("days", v * 86400.0): (1, v * 86400.0) for v in (1, 2, 3, 10)}
    assert percentiles(exact, (0.5, 0.9)) == {0.5: 2.5 * 86400, 0.9: pytest.approx(7.9 * 86400)}


# --- The rollups against the raw aggregates --------------------------------------------------


@pytest.fixture
def mixed(alice, department_a, department_b):
    """Two services in two lead departments, decisions with random processing times, steps,
    ratings, bundles of both services and documents, over 45 days."""
    rng = random.Random(11)
    now = timezone.now()
    market = published_version(route=ONE_STEP, code="roll-market", time_limit_days=10)
    fire = published_version(route=ONE_STEP, code="roll-fire", time_limit_days=6)
    Service.objects.filter(pk=fire.service_id).update(lead_department=department_b)
    bundle = LifeEvent.objects.create(code="roll-bundle", name_en="Bundle", name_zh="一件事")
    kinds = [supporting_type(), DocumentType.objects.create(code="roll-plan", name_en="Plan", name_zh="平面图")]
    for n in range(160):
        submitted = now - timedelta(seconds=rng.randint(0, 45 * 86400))
        bundled = n % 7 == 0
        group = ApplicationGroup.objects.create(
            applicant=alice,
            submitted_at=submitted,
            number=f"G-{uuid.uuid4().hex[:10]}",
            life_event=bundle if bundled else None,
            data={f"k{i}": i for i in range(rng.randint(0, 6))},
            field_revisions={f"k{i}": rng.choice((0, 0, 1)) for i in range(rng.randint(0, 6))},
            changed_verified=["person.full_name"] if n % 9 == 0 else [],
        )
        versions = [market, fire] if bundled else [rng.choice((market, fire))]
        for version in versions:
            status = rng.choice(["approved", "approved", "rejected", "in_progress"])
            decided = submitted + timedelta(seconds=rng.randint(600, 30 * 86400)) if status != "in_progress" else None
            due = None if n % 11 == 0 else submitted + timedelta(days=rng.choice((0, 3, 5, 12)))
            application = Application.objects.create(
                group=group,
                applicant=alice,
                number=f"T-{uuid.uuid4().hex[:10]}",
                service=version.service,
                service_version=version,
                status=status,
                submitted_at=submitted,
                decided_at=decided if decided and decided <= now else None,
                statutory_due_at=due,
            )
            department = department_a if version is market else department_b
            done = application.decided_at is not None
            WorkItem.objects.create(
                application=application,
                step_key="licence",
                department=department,
                kind="review",
                status=WorkItem.Status.DONE if done else rng.choice(["open", "claimed", "waiting"]),
                statutory_due_at=due,
                finished_at=application.decided_at,
                clock_stopped_at=None if done or rng.random() < 0.8 else now - DAY,
            )
            if done and rng.random() < 0.5:
                rating = Rating.objects.create(
                    application=application, department=department, applicant=alice, score=rng.randint(1, 5)
                )
                Rating.objects.filter(pk=rating.pk).update(created_at=application.decided_at)
        if n % 5 == 0:
            document = Document.objects.create(
                owner=alice, document_type=kinds[n % 2], file=f"{n}.pdf", display_name=f"{n}.pdf",
                sha256=f"{n:064d}", size=1, content_type="application/pdf",
            )  # fmt: skip
            Document.objects.filter(pk=document.pk).update(created_at=group.created_at + (DAY if n % 2 else -DAY))
            GroupDocument.objects.create(group=group, document_type=kinds[n % 2], document=document)
    rollups_rebuild()
    return now


def assert_same_figures(user, period: Period, now) -> None:
    board = dashboard_for(user=user, period=period, now=now)
    raw = dashboard_raw.dashboard_for(user=user, period=period, now=now)

    def same(found: dict, expected: dict) -> None:
        assert found.keys() == expected.keys()
        for key, value in expected.items():
            if key in PERCENTILE_KEYS and value is not None:
                # Days are shown to a tenth: the histogram's precision, plus the rounding.
                tolerance = 0.051 if key.endswith("days") else 0.0
                assert found[key] == pytest.approx(value, rel=PRECISION, abs=tolerance), key
            else:
                assert found[key] == pytest.approx(value) if isinstance(value, float) else found[key] == value, key

    same(board.overall, raw.overall)
    assert [r["service_en"] for r in board.timeliness] == [r["service_en"] for r in raw.timeliness]
    for found, expected in zip(board.timeliness, raw.timeliness, strict=True):
        same(found, expected)
    assert board.steps_timeliness == [
        {**row, "on_time_rate": pytest.approx(row["on_time_rate"])} for row in raw.steps_timeliness
    ]
    assert (board.ratings, board.ratings_total, board.ratings_average) == (
        raw.ratings,
        raw.ratings_total,
        raw.ratings_average,
    )
    assert list(board.once_only) == list(raw.once_only)
    same(board.once_only, raw.once_only)
    assert board.backlog == raw.backlog
    assert (board.backlog_total, board.overdue_total, board.waiting_for_applicant_total) == (
        raw.backlog_total,
        raw.overdue_total,
        raw.waiting_for_applicant_total,
    )
    assert [i.pk for i in board.overdue] == [i.pk for i in raw.overdue]
    assert (board.follow_ups_open, board.follow_ups_overdue) == (raw.follow_ups_open, raw.follow_ups_overdue)


def test_rollup_figures_equal_the_raw_aggregates(frozen_now, mixed, administrator, supervisor):
    today = timezone.localdate(mixed)
    board = dashboard_for(user=administrator, period=Period(today - 60 * DAY, today), now=mixed)
    assert board.overall["decided"] > 50 and board.once_only["bundles"] > 5 and board.ratings_total > 20
    for user in (administrator, supervisor):
        for period in (
            Period.default(today),
            Period(today - 60 * DAY, today),
            Period(today - 6 * DAY, today - 2 * DAY),
        ):
            assert_same_figures(user, period, mixed)


# --- The refresh -----------------------------------------------------------------------------


def test_refresh_follows_the_engine_past_its_watermark(django_capture_on_commit_callbacks, alice, clerk_a, supervisor):
    rollups_refresh()  # whatever the fixtures left
    application = submit(django_capture_on_commit_callbacks, applicant=alice, time_limit_days=10)
    today = timezone.localdate()
    result = rollups_refresh()
    assert today in result.days
    state = DashboardRollupState.objects.get()
    assert state.event_watermark == ApplicationEvent.objects.latest("id").pk
    cell = DashboardRollup.objects.get(day=today, service=application.service)
    assert cell.counts == {"submitted": 1}

    decide(django_capture_on_commit_callbacks, application, "licence", clerk_a)
    assert application.status == Application.Status.APPROVED
    rollups_refresh()  # the day's cells are recomputed, so read them again
    cell = DashboardRollup.objects.get(day=today, service=application.service)
    assert cell.counts["decided.approved"] == 1 and cell.counts["decided.on_time"] == 1
    assert cell.counts["steps.finished"] == 1
    board = dashboard_for(user=supervisor, period=Period.default())
    assert board.overall["decided"] == 1 and board.once_only["submissions"] == 1

    # Idempotent: running again, with nothing new or with the watermark put back, changes nothing.
    before = cells()
    rollups_refresh()
    DashboardRollupState.objects.update(event_watermark=0, rating_watermark=0)
    rollups_refresh()
    assert cells() == before


def test_a_commit_behind_the_watermark_is_counted_while_it_is_recent(alice, department_a):
    version = published_version(route=ONE_STEP, code="late-svc")
    rollups_refresh()
    # An application and its event whose id is already behind the watermark, as when its
    # transaction committed after a run had read a later event.
    now = timezone.now()
    group = ApplicationGroup.objects.create(applicant=alice, submitted_at=now, number=f"G-{uuid.uuid4().hex[:8]}")
    application = Application.objects.create(
        group=group, applicant=alice, number=f"L-{uuid.uuid4().hex[:8]}", service=version.service,
        service_version=version, submitted_at=now,
    )  # fmt: skip
    event = ApplicationEvent.objects.create(application=application, kind="application_submitted")
    DashboardRollupState.objects.update(event_watermark=event.pk + 1000)
    rollups_refresh()
    assert DashboardRollup.objects.get(day=timezone.localdate(now), service=version.service).counts == {"submitted": 1}


@pytest.mark.django_db(transaction=True)
def test_a_second_refresh_at_the_same_time_finds_the_state_taken(alice, department_a):
    rollups_refresh()
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic():
                DashboardRollupState.objects.select_for_update().get(id=1)
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    assert locked.wait(10)
    try:
        assert rollups_refresh().busy
    finally:
        release.set()
        holder.join()
    assert not rollups_refresh().busy


@pytest.mark.django_db(transaction=True)
def test_two_refreshes_at_once_write_each_cell_once(alice, department_a):
    version = published_version(route=ONE_STEP, code="twice-svc")
    now = timezone.now()
    for n in range(20):
        group = ApplicationGroup.objects.create(applicant=alice, submitted_at=now - n * DAY, number=f"G-tw-{n}")
        application = Application.objects.create(
            group=group, applicant=alice, number=f"TW-{n}", service=version.service, service_version=version,
            submitted_at=now - n * DAY,
        )  # fmt: skip
        ApplicationEvent.objects.create(application=application, kind="application_submitted")
    start = threading.Barrier(2)
    results = []

    def run() -> None:
        try:
            start.wait(10)
            results.append(rollups_refresh())
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 2
    assert (
        sum(DashboardRollup.objects.filter(service=version.service).values_list("counts__submitted", flat=True)) == 20
    )
    assert rollups_check() == []


# --- The daily check and the commands --------------------------------------------------------


def test_the_check_reports_drift_and_repairs_it(mixed, caplog):
    assert rollups_check() == []
    # A decision changed outside the engine (no event): the rollups do not know.
    moved = Application.objects.filter(decided_at__isnull=False).order_by("id").first()
    Application.objects.filter(pk=moved.pk).update(decided_at=moved.decided_at - 3 * DAY)
    # And a cell edited by hand.
    cell = DashboardRollup.objects.exclude(service=None).order_by("day").first()
    DashboardRollup.objects.filter(pk=cell.pk).update(counts={**cell.counts, "submitted": 999})
    with caplog.at_level(logging.WARNING, logger="workflows.progress.rollups"):
        drifts = rollups_check()
    assert len(drifts) >= 3  # the day it left, the day it moved to, the edited cell
    assert {(d.day, d.service_id) for d in drifts} >= {
        (timezone.localdate(moved.decided_at), moved.service_id),
        (timezone.localdate(moved.decided_at - 3 * DAY), moved.service_id),
        (cell.day, cell.service_id),
    }
    assert [d for d in drifts if d.stored.get("submitted") == 999]
    warnings = [r.getMessage() for r in caplog.records if "dashboard rollup drift" in r.getMessage()]
    assert len(warnings) == len(drifts)
    assert DashboardRollupState.objects.get().drifted_cells == len(drifts)
    assert engine_figures().dashboard_rollup_drift_cells == len(drifts)  # /metrics reports it
    # Repaired, the next check finds nothing.
    assert len(rollups_check(repair=True)) == len(drifts)
    assert rollups_check() == []
    assert DashboardRollupState.objects.get().drifted_cells == 0


def test_the_commands_rebuild_and_check(mixed, capsys):
    before = cells()
    DashboardRollup.objects.all().delete()
    call_command("dashboard_rollups_rebuild")
    assert "dashboard rollups rebuilt" in capsys.readouterr().out
    assert cells() == before
    call_command("dashboard_rollups_check")
    assert "0 cells drifted" in capsys.readouterr().out
    DashboardRollup.objects.filter(pk=DashboardRollup.objects.order_by("id").first().pk).delete()
    with pytest.raises(SystemExit):
        call_command("dashboard_rollups_check")
    assert "1 cells drifted" in capsys.readouterr().out
    call_command("dashboard_rollups_check", "--repair")
    assert cells() == before


def test_a_day_without_data_has_no_cells_and_departments_see_only_theirs(mixed, supervisor):
    fire = Department.objects.get(code="fire")
    assert not DashboardRollup.objects.filter(counts={})
    keys = set(DashboardRollup.objects.values_list("department_key", flat=True))
    assert f",{fire.pk}," in keys and any(key.count(",") == 3 for key in keys)  # a bundle of both
    board = dashboard_for(user=supervisor, period=Period.default(timezone.localdate(mixed)), now=mixed)
    assert {r["department__code"] for r in board.steps_timeliness} <= {"market"}
    assert not math.isnan(board.overall["on_time_rate"] or 0.0)


@pytest.mark.django_db(transaction=True)
def test_the_background_refresh_runs_on_one_core_and_the_portal_without_jit(monkeypatch):
    """The refresh every few seconds must not take every core from the people being served: its
    transaction plans no parallel workers; and the portal's connections compile no JIT code
    (both measured at ten million applications, docs/benchmarks.md)."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL settings")
    from workflows.progress import rollups

    seen = []

    def ahead_spy(now):
        with connection.cursor() as cursor:
            cursor.execute("SHOW max_parallel_workers_per_gather")
            seen.append(cursor.fetchone()[0])
        return 0

    monkeypatch.setattr(rollups, "live_counts_ahead", ahead_spy)
    rollups.rollups_refresh()
    assert seen == ["0"]
    with connection.cursor() as cursor:
        cursor.execute("SHOW max_parallel_workers_per_gather")  # only for the refresh's transaction
        assert cursor.fetchone()[0] != "0"
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"
