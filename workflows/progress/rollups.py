"""The supervision dashboard's period figures, rolled up per (local day, department, service).

The dashboard used to aggregate every application of the period at each page view (a second
at 100,000 applications). Now each figure is a count (and, where it has a measure, a sum) in a
cell of `DashboardRollup`, and the page adds up the cells of the period in Python: one query
whatever the number of applications.

How the cells stay current (`rollups_refresh`, a beat task every few seconds):
- it locks the one `DashboardRollupState` row with SKIP LOCKED, so a second run at the same
  time finds it taken and returns; everything it writes commits with the new watermark;
- it reads the events and ratings past the stored watermarks, finds the local days they touch
  (the application's submission and decision, the step's finish, the rating's day), and
  *recomputes* those days' cells from the raw rows. Recomputing rather than adding deltas makes
  a run idempotent: running it twice, or after a crash, gives the same cells;
- a transaction that wrote its event before the run but committed after it is behind the
  watermark: so while there was activity in the last `OVERLAP` seconds, the days of that window
  are recomputed on every run too. Anything slower than that is found by the daily check.
The engine is not involved: transitions write what they always wrote.

`rollups_rebuild` computes every day from the raw data (upgrades, `manage.py
dashboard_rollups_rebuild`); `rollups_check` (daily, and `manage.py dashboard_rollups_check`)
recomputes every day, compares, logs each cell that drifted and records the count, which
/metrics reports as `onedoor_dashboard_rollup_drift_cells`.

Processing times (days and the share of the statutory time used) are kept as histograms with
fixed log-scale buckets, 16 per doubling (each bucket spans a factor 2^(1/16) ≈ 1.044), each
with its count and the sum of its values. A percentile is computed as PostgreSQL's
`percentile_cont` would, with each value replaced by the mean of its bucket: it is within 4.4 %
of the exact percentile, and exact when the values at the two ranks around it are alone in (or
equal within) their buckets. Counts, rates and averages are exact.

To add a figure: count it in `cells_between` under a new name (the cell's department is the one
whose supervisor should see it) and read it in `PeriodFigures`.
"""

import logging
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F, Max, Min, Q
from django.db.models.expressions import RawSQL
from django.db.models.functions import NullIf, TruncDate
from django.utils import timezone

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
from workflows.progress.figures import SecondsBetween
from workflows.progress.live_counts import (
    LiveDrift,
    live_counts_ahead,
    live_counts_check,
    live_counts_rebuild,
    live_counts_refresh,
)

logger = logging.getLogger("workflows.progress.rollups")

DECIDED = (Application.Status.APPROVED, Application.Status.REJECTED)
BUCKETS_PER_DOUBLING = 16
# Values below these go to the lowest bucket (with their own sum, so its mean stays right).
SMALLEST = {"days": 1.0, "share": 1e-4}  # a second; a ten-thousandth of the limit
CHUNK_DAYS = 31  # rebuild and check work a month of days at a time
EVENT_BATCH = 20_000

CellKey = tuple[date, str, int | None]


@dataclass
class Cell:
    counts: Counter = field(default_factory=Counter)
    sums: defaultdict = field(default_factory=lambda: defaultdict(float))

    def add(self, name: str, count: int = 1, total: float | None = None) -> None:
        self.counts[name] += count
        if total is not None:
            self.sums[name] += total


def department_key(department_ids: Iterable[int]) -> str:
    return "," + ",".join(str(i) for i in sorted(set(department_ids))) + ","


def department_ids_of(key: str) -> list[int]:
    return [int(part) for part in key.strip(",").split(",") if part]


def bucket_of(measure: str, value: float) -> int:
    return math.floor(BUCKETS_PER_DOUBLING * math.log2(max(value, SMALLEST[measure])))


def percentiles(buckets: dict[int, tuple[int, float]], fractions: Iterable[float]) -> dict[float, float | None]:
    """`percentile_cont` over a histogram {bucket: (count, sum)}: each value is its bucket's mean."""
    ordered = [(count, total) for _, (count, total) in sorted(buckets.items()) if count]
    size = sum(count for count, _ in ordered)

    def value_at(rank: int) -> float:
        seen = 0
        for count, total in ordered:
            seen += count
            if rank < seen:
                return total / count
        raise IndexError(rank)

    found: dict[float, float | None] = {}
    for fraction in fractions:
        if not size:
            found[fraction] = None
            continue
        position = fraction * (size - 1)
        lower = int(position)
        upper = min(lower + 1, size - 1)
        low, high = value_at(lower), value_at(upper)
        found[fraction] = low + (high - low) * (position - lower)
    return found


def json_count(table: str, column: str, *, where_zero: bool = False) -> RawSQL:
    """Keys of a JSON object column (or those whose value is 0), counted in SQL."""
    if connection.vendor == "postgresql":
        condition = " WHERE e.value = '0'" if where_zero else ""
        return RawSQL(f'(SELECT COUNT(*) FROM jsonb_each_text("{table}"."{column}") e{condition})', [])  # noqa: S608, S611
    condition = " WHERE e.value = 0" if where_zero else ""
    return RawSQL(f'(SELECT COUNT(*) FROM json_each("{table}"."{column}") e{condition})', [])  # noqa: S608, S611


def json_array_length(table: str, column: str) -> RawSQL:
    function = "jsonb_array_length" if connection.vendor == "postgresql" else "json_array_length"
    return RawSQL(f'{function}("{table}"."{column}")', [])  # noqa: S611


def _bounds(first: date, last: date) -> tuple[datetime, datetime]:
    since = timezone.make_aware(datetime.combine(first, time.min))
    until = timezone.make_aware(datetime.combine(last + timedelta(days=1), time.min))
    return since, until


def _local_day(field_name: str) -> TruncDate:
    return TruncDate(field_name, tzinfo=timezone.get_current_timezone())


def cells_between(first: date, last: date) -> dict[CellKey, Cell]:
    """Every cell of the local days first…last, computed from the raw rows (about eight
    queries, each a range on an indexed moment)."""
    since, until = _bounds(first, last)
    cells: dict[CellKey, Cell] = defaultdict(Cell)

    # Applications submitted, under the service's lead department.
    submitted = (
        Application.objects.filter(submitted_at__gte=since, submitted_at__lt=until)
        .annotate(day=_local_day("submitted_at"))
        .values_list("day", "service__lead_department_id", "service_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    for day, lead, service, n in submitted:
        cells[(day, department_key([lead]), service)].add("submitted", n)

    # Decisions: outcome, on time against the application's due date, processing time.
    decided = (
        Application.objects.filter(status__in=DECIDED, decided_at__gte=since, decided_at__lt=until)
        .annotate(
            day=_local_day("decided_at"),
            elapsed=SecondsBetween("decided_at", "submitted_at"),
            allowed=NullIf(SecondsBetween("statutory_due_at", "submitted_at"), 0.0),
        )
        .values_list(
            "day", "service__lead_department_id", "service_id", "status", "elapsed", "allowed",
            "statutory_due_at", "decided_at", "service_version__time_limit_days",
        )
    )  # fmt: skip
    for day, lead, service, status, elapsed, allowed, due, decided_at, limit_days in decided.iterator(5000):
        cell = cells[(day, department_key([lead]), service)]
        cell.add(f"decided.{status}")
        if due is not None:
            cell.add("decided.with_due")
            if decided_at is not None and decided_at <= due:  # always set: the filter asks for it
                cell.add("decided.on_time")
        if limit_days is not None:
            cell.add("decided.limit_days", 1, float(limit_days))
        elapsed = float(elapsed)
        cell.add(f"days.{bucket_of('days', elapsed)}", 1, elapsed)
        if allowed is not None:
            share = elapsed / float(allowed)
            cell.add(f"share.{bucket_of('share', share)}", 1, share)

    # Department steps finished, against each step's own statutory clock.
    steps = (
        WorkItem.objects.filter(
            status=WorkItem.Status.DONE,
            finished_at__gte=since,
            finished_at__lt=until,
            statutory_due_at__isnull=False,
        )
        .annotate(day=_local_day("finished_at"))
        .values_list("day", "department_id", "application__service_id")
        .annotate(finished=Count("id"), on_time=Count("id", filter=Q(finished_at__lte=F("statutory_due_at"))))
        .order_by()
    )
    for day, department, service, finished, on_time in steps:
        cell = cells[(day, department_key([department]), service)]
        cell.add("steps.finished", finished)
        cell.add("steps.on_time", on_time)

    # Ratings, under the rated department.
    ratings = (
        Rating.objects.filter(created_at__gte=since, created_at__lt=until)
        .annotate(day=_local_day("created_at"))
        .values_list("day", "department_id", "application__service_id", "score")
        .annotate(n=Count("id"))
        .order_by()
    )
    for day, department, service, score, n in ratings:
        cells[(day, department_key([department]), service)].add(f"ratings.{score}", n, float(score * n))

    _once_only(cells, since, until)
    return dict(cells)


def _once_only(cells: dict[CellKey, Cell], since: datetime, until: datetime) -> None:
    """Per submission (group): under the set of its services' lead departments, so a
    supervisor of any of them counts it once."""
    table = ApplicationGroup._meta.db_table
    in_range = Q(submitted_at__gte=since, submitted_at__lt=until)
    members: dict[int, list[int]] = defaultdict(list)
    for group_id, lead in Application.objects.filter(
        group__submitted_at__gte=since, group__submitted_at__lt=until
    ).values_list("group_id", "service__lead_department_id"):
        members[group_id].append(lead)
    documents = {
        group_id: (attached, reused)
        for group_id, attached, reused in GroupDocument.objects.filter(
            group__submitted_at__gte=since, group__submitted_at__lt=until
        )
        .values_list("group_id")
        .annotate(attached=Count("id"), reused=Count("id", filter=Q(document__created_at__lt=F("group__created_at"))))
        .order_by()
    }
    groups = (
        ApplicationGroup.objects.filter(in_range)
        .annotate(
            day=_local_day("submitted_at"),
            answers=json_count(table, "data"),
            prefilled=json_count(table, "field_revisions", where_zero=True),
            changed=json_array_length(table, "changed_verified"),
        )
        .values_list("id", "day", "life_event_id", "answers", "prefilled", "changed")
    )
    for group_id, day, life_event, answers, prefilled, changed_verified in groups.iterator(5000):
        leads = members.get(group_id)
        if not leads:  # a submission with no application is nobody's figure
            continue
        cell = cells[(day, department_key(leads), None)]
        attached, reused = documents.get(group_id, (0, 0))
        cell.add("groups.submitted")
        cell.add("groups.bundles", 1 if life_event is not None else 0)
        cell.add("groups.applications", len(leads))
        cell.add("groups.answers", int(answers or 0))
        cell.add("groups.prefilled", int(prefilled or 0))
        cell.add("groups.changed_verified", int(changed_verified or 0))
        cell.add("groups.attached", attached)
        cell.add("groups.reused", reused)


def _rows(cells: dict[CellKey, Cell]) -> list[DashboardRollup]:
    return [
        DashboardRollup(
            day=day,
            department_key=key,
            service_id=service,
            counts={name: n for name, n in cell.counts.items() if n},
            sums={name: total for name, total in cell.sums.items() if cell.counts.get(name)},
        )
        for (day, key, service), cell in cells.items()
        if any(cell.counts.values())
    ]


def _replace(first: date, last: date, cells: dict[CellKey, Cell]) -> int:
    DashboardRollup.objects.filter(day__gte=first, day__lte=last).delete()
    return len(DashboardRollup.objects.bulk_create(_rows(cells), batch_size=2000))


def _state(*, skip_locked: bool) -> DashboardRollupState | None:
    """The state row, locked; None when another run holds it and `skip_locked`."""
    DashboardRollupState.objects.bulk_create([DashboardRollupState(id=1)], ignore_conflicts=True)
    return DashboardRollupState.objects.select_for_update(skip_locked=skip_locked).filter(id=1).first()


def _state_waiting() -> DashboardRollupState:
    """The state row, locked, waiting for a running refresh to finish."""
    DashboardRollupState.objects.bulk_create([DashboardRollupState(id=1)], ignore_conflicts=True)
    return DashboardRollupState.objects.select_for_update().get(id=1)


def _ranges(days: Iterable[date]) -> Iterator[tuple[date, date]]:
    """Consecutive runs of days, at most CHUNK_DAYS long."""
    run: list[date] = []
    for day in sorted(set(days)):
        if run and (day != run[-1] + timedelta(days=1) or len(run) == CHUNK_DAYS):
            yield run[0], run[-1]
            run = []
        run.append(day)
    if run:
        yield run[0], run[-1]


@dataclass(frozen=True)
class RefreshResult:
    days: list[date]
    busy: bool = False  # another run held the state row


def _local_days(moments: Iterable[datetime | None]) -> set[date]:
    return {timezone.localdate(moment) for moment in moments if moment is not None}


def _touched(state: DashboardRollupState, now: datetime) -> tuple[set[date], set[int], int, int]:
    """The local days and the applications touched past the watermarks, and the new watermarks."""
    events = list(
        ApplicationEvent.objects.filter(id__gt=state.event_watermark)
        .order_by("id")
        .values_list("id", "application_id", "work_item_id")[:EVENT_BATCH]
    )
    ratings = list(
        Rating.objects.filter(id__gt=state.rating_watermark)
        .order_by("id")
        .values_list("id", "created_at")[:EVENT_BATCH]
    )
    days: set[date] = set()
    application_ids = {application for _, application, _ in events}
    work_item_ids = {item for _, _, item in events if item is not None}
    for submitted, decided, group_submitted in (
        Application.objects.filter(id__in=application_ids)
        .values_list("submitted_at", "decided_at", "group__submitted_at")
        .distinct()
    ):
        days |= _local_days((submitted, decided, group_submitted))
    days |= _local_days(
        WorkItem.objects.filter(id__in=work_item_ids, finished_at__isnull=False)
        .values_list("finished_at", flat=True)
        .distinct()
    )
    days |= _local_days(created for _, created in ratings)
    # Late commits: a transaction may commit its event after a run has passed its id.
    window = now - timedelta(seconds=settings.DASHBOARD_ROLLUP_OVERLAP_SECONDS)
    recent_applications = set(
        ApplicationEvent.objects.filter(created_at__gte=window).values_list("application_id", flat=True).distinct()
    )
    application_ids |= recent_applications
    if recent_applications or Rating.objects.filter(created_at__gte=window).exists():
        days |= {timezone.localdate(window), timezone.localdate(now)}
    event_watermark = events[-1][0] if events else state.event_watermark
    rating_watermark = ratings[-1][0] if ratings else state.rating_watermark
    return days, application_ids, event_watermark, rating_watermark


def _refresh(state: DashboardRollupState, now: datetime) -> list[date]:
    """Under the locked state row: the touched days' cells and the touched applications' live
    work counters, then the watermarks."""
    days, application_ids, state.event_watermark, state.rating_watermark = _touched(state, now)
    for first, last in _ranges(days):
        _replace(first, last, cells_between(first, last))
    live_counts_refresh(application_ids)
    live_counts_ahead(now)
    state.refreshed_at = now
    state.save(update_fields=["event_watermark", "rating_watermark", "refreshed_at"])
    return sorted(days)


def rollups_refresh(*, now: datetime | None = None) -> RefreshResult:
    """Recomputes the days touched since the watermarks, and recounts the live work of the
    applications touched; see the module's docstring."""
    now = now or timezone.now()
    with transaction.atomic():
        state = _state(skip_locked=True)
        if state is None:
            return RefreshResult(days=[], busy=True)
        _one_core()
        days = _refresh(state, now)
    return RefreshResult(days=days)


def _one_core() -> None:
    """The refresh runs every few seconds in the background: its statements run on one core
    (no parallel workers), for this transaction only, so they never take every core from the
    people being served. At ten million applications the "ahead" count ran as three processes
    for half a second every five, and the clerk queue's p95 over HTTP went from 37 to 62–64 ms
    (docs/benchmarks.md)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")


def _data_days() -> tuple[date, date] | None:
    """The first and last local day with raw data or a rollup."""
    moments: list[datetime] = []
    for queryset, name in (
        (Application.objects.all(), "submitted_at"),
        (Application.objects.filter(decided_at__isnull=False), "decided_at"),
        (WorkItem.objects.filter(status=WorkItem.Status.DONE, finished_at__isnull=False), "finished_at"),
        (Rating.objects.all(), "created_at"),
        (ApplicationGroup.objects.filter(submitted_at__isnull=False), "submitted_at"),
    ):
        found = queryset.aggregate(first=Min(name), last=Max(name))
        moments += [moment for moment in found.values() if moment is not None]
    days = _local_days(moments)
    stored = DashboardRollup.objects.aggregate(first=Min("day"), last=Max("day"))
    days |= {day for day in stored.values() if day is not None}
    return (min(days), max(days)) if days else None


def _all_ranges(days: int | None) -> Iterator[tuple[date, date]]:
    span = _data_days()
    if span is None:
        return
    first, last = span
    if days is not None:
        first = max(first, timezone.localdate() - timedelta(days=days - 1))
    while first <= last:
        end = min(last, first + timedelta(days=CHUNK_DAYS - 1))
        yield first, end
        first = end + timedelta(days=1)


def rollups_rebuild() -> int:
    """Every cell and live work counter from the raw data; waits for a running refresh. Returns
    the cells and counters written."""
    written = 0
    with transaction.atomic():
        state = _state_waiting()
        # Everything up to here is in the rebuilt cells: the refresh starts after it.
        state.event_watermark = ApplicationEvent.objects.aggregate(top=Max("id"))["top"] or 0
        state.rating_watermark = Rating.objects.aggregate(top=Max("id"))["top"] or 0
        DashboardRollup.objects.all().delete()
        for first, last in _all_ranges(None):
            written += _replace(first, last, cells_between(first, last))
        written += live_counts_rebuild()
        state.refreshed_at = timezone.now()
        live_counts_ahead(state.refreshed_at)
        state.save(update_fields=["event_watermark", "rating_watermark", "refreshed_at"])
    return written


@dataclass(frozen=True)
class Drift:
    day: date
    department_key: str
    service_id: int | None
    stored: dict[str, Any]
    raw: dict[str, Any]

    def describe(self) -> str:
        return (
            f"{self.day.isoformat()} departments {self.department_key} service {self.service_id}: "
            f"stored {self.stored} raw {self.raw}"
        )


def _differs(stored: DashboardRollup | None, raw: DashboardRollup | None) -> bool:
    stored_counts = stored.counts if stored else {}
    raw_counts = raw.counts if raw else {}
    if stored_counts != raw_counts:
        return True
    stored_sums, raw_sums = (stored.sums if stored else {}), (raw.sums if raw else {})
    return any(
        not math.isclose(stored_sums.get(name, 0.0), raw_sums.get(name, 0.0), rel_tol=1e-9, abs_tol=1e-6)
        for name in set(stored_sums) | set(raw_sums)
    )


def rollups_check(*, days: int | None = None, repair: bool = False) -> list[Drift | LiveDrift]:
    """Compares every cell (of the last `days` days, or all) and every live work counter with
    the raw data; logs each that differs, records how many on the state row and, with `repair`,
    rewrites them. It refreshes first, so what the last few seconds changed is not drift."""
    drifts: list[Drift | LiveDrift] = []
    with transaction.atomic():
        state = _state_waiting()
        _refresh(state, timezone.now())
        for first, last in _all_ranges(days):
            raw = {(r.day, r.department_key, r.service_id): r for r in _rows(cells_between(first, last))}
            stored = {
                (r.day, r.department_key, r.service_id): r
                for r in DashboardRollup.objects.filter(day__gte=first, day__lte=last)
            }
            found = [
                Drift(
                    day=key[0],
                    department_key=key[1],
                    service_id=key[2],
                    stored=stored[key].counts if key in stored else {},
                    raw=raw[key].counts if key in raw else {},
                )
                for key in sorted(set(raw) | set(stored), key=lambda k: (k[0], k[1], k[2] or 0))
                if _differs(stored.get(key), raw.get(key))
            ]
            if found and repair:
                _replace(first, last, {})
                DashboardRollup.objects.bulk_create(list(raw.values()), batch_size=2000)
            drifts += found
        drifts += live_counts_check(repair=repair)
        state.checked_at = timezone.now()
        state.drifted_cells = len(drifts)
        state.save(update_fields=["checked_at", "drifted_cells"])
    for drift in drifts:
        logger.warning("dashboard rollup drift: %s", drift.describe())
    logger.info("dashboard rollup check: %d cells drifted%s", len(drifts), " (repaired)" if repair and drifts else "")
    return drifts
