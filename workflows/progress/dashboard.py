"""The supervision dashboard's figures (电子监察, 好差评).

Every figure is scoped: a supervisor sees the departments they supervise, an administrator
all of them. Application-level figures (timeliness, once-only) count applications whose
service's lead department is in scope; step-level figures (backlog, overdue) count work
items of departments in scope. The period filters what happened in it (decisions,
ratings, submissions): those figures add up the rollup cells of the period
(workflows/progress/rollups.py), so the page costs the same number of queries at any size.
The backlog adds up live work counters kept by the same refresh (as of its last run, a few
seconds ago; overdue exact at now: workflows/progress/live_counts.py). The overdue list,
incidents and follow-ups are as of now: live queries, each on an index of live rows.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import connection
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from accounts.models import Department, User
from accounts.selectors import supervised_department_ids
from services.models import Service
from workflows.models import Application, DashboardRollup, Incident, Offer, RatingFollowUp, WorkItem
from workflows.progress.live_counts import backlog
from workflows.progress.rollups import Cell, department_ids_of, percentiles

DAY = 86400.0
# Open work: in the queue, being handled, failed (an incident), or waiting for a correction.
LIVE = WorkItem.LIVE
DECIDED = (Application.Status.APPROVED, Application.Status.REJECTED)
OVERDUE_LIST_SIZE = 50


class NotASupervisor(Exception):
    """The person supervises no department and is not an administrator."""


@dataclass(frozen=True)
class Scope:
    department_ids: list[int] | None  # None: every department (administrators)

    def on(self, path: str) -> Q:
        return Q() if self.department_ids is None else Q(**{f"{path}__in": self.department_ids})


def scope_for(user: User) -> Scope:
    departments = supervised_department_ids(user)
    if departments is not None and not departments:
        raise NotASupervisor
    return Scope(departments)


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive

    @property
    def since(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.start, time.min))

    @property
    def until(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.end + timedelta(days=1), time.min))

    @classmethod
    def default(cls, today: date | None = None) -> "Period":
        today = today or timezone.localdate()
        return cls(today - timedelta(days=29), today)


@dataclass
class Dashboard:
    scope: Scope
    period: Period
    now: datetime
    departments: list[Department] = field(default_factory=list)
    backlog: list[dict[str, Any]] = field(default_factory=list)
    backlog_as_of: datetime | None = None  # when the backlog's counters were last refreshed
    backlog_total: int = 0
    overdue_total: int = 0
    waiting_for_applicant_total: int = 0
    timeliness: list[dict[str, Any]] = field(default_factory=list)
    overall: dict[str, Any] = field(default_factory=dict)
    steps_timeliness: list[dict[str, Any]] = field(default_factory=list)
    overdue: list[WorkItem] = field(default_factory=list)
    incidents_open: int = 0
    incidents: list[Incident] = field(default_factory=list)
    ratings: dict[int, int] = field(default_factory=dict)
    ratings_total: int = 0
    ratings_average: float | None = None
    follow_ups_open: int = 0
    follow_ups_overdue: int = 0
    follow_ups: list[RatingFollowUp] = field(default_factory=list)
    once_only: dict[str, Any] = field(default_factory=dict)
    offers: dict[str, int] = field(default_factory=dict)


def _rate(part: int | None, whole: int | None) -> float | None:
    return (part or 0) / whole if whole else None


def _backlog(dashboard: Dashboard) -> None:
    """Open work by service and step, from the live work counters (workflows/progress/live_counts.py)
    as of their last refresh, with overdue exact at now."""
    counted = backlog(department_ids=dashboard.scope.department_ids, now=dashboard.now)
    dashboard.backlog = counted.rows
    dashboard.backlog_as_of = counted.as_of
    # The totals are the rows added up: each live item is in exactly one (service, step) row.
    dashboard.backlog_total = sum(row["total"] for row in dashboard.backlog)
    dashboard.overdue_total = sum(row["overdue"] for row in dashboard.backlog)
    dashboard.waiting_for_applicant_total = sum(row["waiting"] for row in dashboard.backlog)


def _cells(dashboard: Dashboard) -> "PeriodTotals":
    """The period's rollup cells in scope, added up: one query whatever the number of applications."""
    cells = DashboardRollup.objects.filter(day__gte=dashboard.period.start, day__lte=dashboard.period.end)
    if dashboard.scope.department_ids is not None:
        in_scope = Q()
        for department_id in dashboard.scope.department_ids:
            in_scope |= Q(department_key__contains=f",{department_id},")
        cells = cells.filter(in_scope)
    totals = PeriodTotals()
    if connection.vendor == "postgresql":
        # Added up per department key and service in PostgreSQL: a figure per row instead of two
        # JSON documents per cell decoded in Python (~3,000 cells for an administrator's month).
        for key, service_id, name_en, name_zh, counts, sums in _cells_added_up(cells):
            totals.add(key, service_id, (name_en, name_zh), counts, sums)
        return totals
    for key, service_id, name_en, name_zh, counts, sums in cells.values_list(
        "department_key", "service_id", "service__name_en", "service__name_zh", "counts", "sums"
    ):
        totals.add(key, service_id, (name_en, name_zh), counts, sums)
    return totals


def _cells_added_up(cells: QuerySet[DashboardRollup]) -> list[tuple[str, int | None, str, str, dict, dict]]:
    """The cells' counts and sums added up per (department key, service), by one statement over
    the cells' figures (`jsonb_each_text`)."""
    in_scope, params = cells.values("id").query.sql_with_params()
    rollup, service = DashboardRollup._meta.db_table, Service._meta.db_table
    figures = (
        "SELECT c.department_key, c.service_id, {kind} AS kind, f.key, SUM(f.value::double precision) "  # noqa: S608 - table names and Django's own SQL
        f'FROM "{rollup}" c CROSS JOIN LATERAL jsonb_each_text(c.{{column}}) f '
        f"WHERE c.id IN ({in_scope}) GROUP BY 1, 2, 4"
    )
    sql = (
        "SELECT t.department_key, t.service_id, s.name_en, s.name_zh, t.kind, t.key, t.total FROM ("  # noqa: S608
        + figures.format(kind="'c'", column="counts")
        + " UNION ALL "
        + figures.format(kind="'s'", column="sums")
        + f') t (department_key, service_id, kind, key, total) LEFT JOIN "{service}" s ON s.id = t.service_id'
    )
    added: dict[tuple[str, int | None], tuple[str, str, dict, dict]] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *params])
        for key, service_id, name_en, name_zh, kind, name, total in cursor.fetchall():
            entry = added.setdefault((key, service_id), (name_en or "", name_zh or "", {}, {}))
            if kind == "c":
                entry[2][name] = round(total)
            else:
                entry[3][name] = total
    return [(key, service_id, *entry) for (key, service_id), entry in added.items()]


@dataclass
class PeriodTotals:
    """Rollup cells added up overall, per service and per (single) department."""

    overall: Cell = field(default_factory=Cell)
    by_service: dict[int, Cell] = field(default_factory=lambda: defaultdict(Cell))
    by_department: dict[int, Cell] = field(default_factory=lambda: defaultdict(Cell))
    service_names: dict[int, tuple[str, str]] = field(default_factory=dict)

    def add(self, key: str, service_id: int | None, names: tuple[str, str], counts: dict, sums: dict) -> None:
        targets = [self.overall]
        if service_id is not None:
            targets.append(self.by_service[service_id])
            self.service_names[service_id] = names
        departments = department_ids_of(key)
        if len(departments) == 1:
            targets.append(self.by_department[departments[0]])
        for name, count in counts.items():
            total = sums.get(name)
            for cell in targets:
                cell.add(name, count, total)


def _histogram(cell: Cell, measure: str) -> dict[int, tuple[int, float]]:
    prefix = f"{measure}."
    return {
        int(name[len(prefix) :]): (count, cell.sums.get(name, 0.0))
        for name, count in cell.counts.items()
        if name.startswith(prefix)
    }


def _processing(cell: Cell) -> dict[str, Any]:
    """Decided, on time, and the median and 90th percentile of the processing time and of the
    share of the statutory time used (from the histograms: see rollups.py for the precision)."""
    counts = cell.counts
    day = percentiles(_histogram(cell, "days"), (0.5, 0.9))
    used = percentiles(_histogram(cell, "share"), (0.5, 0.9))
    return {
        "decided": sum(counts[f"decided.{status}"] for status in DECIDED),
        "on_time": counts["decided.on_time"],
        "on_time_rate": _rate(counts["decided.on_time"], counts["decided.with_due"]),
        "median_days": _days(day[0.5]),
        "p90_days": _days(day[0.9]),
        "median_share": used[0.5],
        "p90_share": used[0.9],
    }


def _timeliness(dashboard: Dashboard, totals: PeriodTotals) -> None:
    """Per service: decided, on time, median and 90th-percentile processing time (days) and the
    share of the statutory time they used (1.0 = the whole limit)."""
    rows = []
    for service_id, cell in totals.by_service.items():
        figures = _processing(cell)
        if not figures["decided"]:
            continue
        name_en, name_zh = totals.service_names[service_id]
        limits = cell.counts["decided.limit_days"]
        rows.append(
            {
                "service_en": name_en,
                "service_zh": name_zh,
                **figures,
                "limit_days": round(cell.sums["decided.limit_days"] / limits) if limits else None,
            }
        )
    dashboard.timeliness = sorted(rows, key=lambda row: row["service_en"])
    dashboard.overall = _processing(totals.overall)
    # Department steps finished in the period: on time against each step's own statutory clock.
    by_id = {department.pk: department for department in dashboard.departments}
    steps = []
    for department_id, cell in totals.by_department.items():
        finished = cell.counts["steps.finished"]
        department = by_id.get(department_id)
        if not finished or department is None:
            continue
        steps.append(
            {
                "department__code": department.code,
                "department__name_en": department.name_en,
                "department__name_zh": department.name_zh,
                "finished": finished,
                "on_time": cell.counts["steps.on_time"],
                "on_time_rate": _rate(cell.counts["steps.on_time"], finished),
            }
        )
    dashboard.steps_timeliness = sorted(steps, key=lambda row: row["department__code"])


def _days(seconds: float | None) -> float | None:
    return round(seconds / DAY, 1) if seconds is not None else None


def _overdue(dashboard: Dashboard) -> None:
    dashboard.overdue = list(
        WorkItem.objects.filter(
            dashboard.scope.on("department_id"),
            status__in=LIVE,
            statutory_due_at__lt=dashboard.now,
            clock_stopped_at__isnull=True,
        )
        .select_related("application__service", "department", "assignee")
        .order_by("statutory_due_at", "id")[:OVERDUE_LIST_SIZE]
    )


def _incidents(dashboard: Dashboard) -> None:
    open_incidents = Incident.objects.filter(dashboard.scope.on("department_id"), status=Incident.Status.OPEN)
    dashboard.incidents_open = open_incidents.count()
    dashboard.incidents = list(
        open_incidents.select_related("work_item__application", "department").order_by("opened_at")[:20]
    )


def _ratings(dashboard: Dashboard, totals: PeriodTotals) -> None:
    counts = totals.overall.counts
    dashboard.ratings = {score: counts[f"ratings.{score}"] for score in range(5, 0, -1)}
    dashboard.ratings_total = sum(dashboard.ratings.values())
    scores = sum(score * count for score, count in dashboard.ratings.items())
    dashboard.ratings_average = round(scores / dashboard.ratings_total, 2) if dashboard.ratings_total else None


def _follow_ups(dashboard: Dashboard) -> None:
    open_follow_ups = RatingFollowUp.objects.filter(
        dashboard.scope.on("department_id"), status=RatingFollowUp.Status.OPEN
    )
    counts = open_follow_ups.aggregate(total=Count("id"), overdue=Count("id", filter=Q(due_at__lt=dashboard.now)))
    dashboard.follow_ups_open = counts["total"]
    dashboard.follow_ups_overdue = counts["overdue"]
    dashboard.follow_ups = list(
        open_follow_ups.select_related("rating__application", "department").order_by("due_at")[:20]
    )


ONCE_ONLY = ("submissions", "bundles", "answers", "prefilled", "changed_verified", "applications", "attached",
             "reused")  # fmt: skip


def _once_only(dashboard: Dashboard, totals: PeriodTotals) -> None:
    """What "one time" saved applicants: answers prefilled from what the state knew and kept,
    documents reused from the vault rather than uploaded again, services bundled in one form.
    Counted per submission, once for a supervisor of any of its services' lead departments."""
    counts = totals.overall.counts
    figures: dict[str, Any] = {
        name: counts["groups.submitted" if name == "submissions" else f"groups.{name}"] for name in ONCE_ONLY
    }
    figures["prefilled_rate"] = _rate(figures["prefilled"], figures["answers"])
    figures["reused_rate"] = _rate(figures["reused"], figures["attached"])
    dashboard.once_only = figures


def _offers(dashboard: Dashboard) -> None:
    """Proactive offers (免申即享) of services in scope, decided by a rule in the period: offers
    made to confirm once, accepted, declined, granted without a request (and opted out of), and
    not made (the person not eligible, already applied, or an answer unknown)."""
    offers = Offer.objects.filter(
        dashboard.scope.on("service__lead_department_id"),
        created_at__gte=dashboard.period.since,
        created_at__lt=dashboard.period.until,
    )
    confirm_once = (Offer.Status.OFFERED, Offer.Status.ACCEPTED, Offer.Status.DECLINED)
    figures = offers.aggregate(
        made=Count("id", filter=Q(status__in=confirm_once)),
        accepted=Count("id", filter=Q(status=Offer.Status.ACCEPTED)),
        declined=Count("id", filter=Q(status=Offer.Status.DECLINED)),
        granted=Count("id", filter=Q(status__in=(Offer.Status.GRANTED, Offer.Status.OPTED_OUT))),
        opted_out=Count("id", filter=Q(status=Offer.Status.OPTED_OUT)),
        not_made=Count("id", filter=Q(status=Offer.Status.NOT_MADE)),
    )
    dashboard.offers = {key: int(value or 0) for key, value in figures.items()}


def dashboard_for(*, user: User, period: Period, now: datetime | None = None) -> Dashboard:
    """All figures for `user`'s scope; raises NotASupervisor for anyone else."""
    scope = scope_for(user)
    dashboard = Dashboard(scope=scope, period=period, now=now or timezone.now())
    departments = Department.objects.order_by("code")
    if scope.department_ids is not None:
        departments = departments.filter(pk__in=scope.department_ids)
    dashboard.departments = list(departments)
    totals = _cells(dashboard)
    _backlog(dashboard)
    _timeliness(dashboard, totals)
    _overdue(dashboard)
    _incidents(dashboard)
    _ratings(dashboard, totals)
    _follow_ups(dashboard)
    _once_only(dashboard, totals)
    _offers(dashboard)
    return dashboard
