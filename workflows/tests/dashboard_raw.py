"""The supervision dashboard as it was computed before the rollups: SQL aggregates over every
application of the period (percentile_cont for the percentiles). The tests use it as the
reference the rollup-based figures must equal (workflows/tests/test_progress_rollups.py).

Every figure is scoped: a supervisor sees the departments they supervise, an administrator
all of them. Application-level figures (timeliness, once-only) count applications whose
service's lead department is in scope; step-level figures (backlog, overdue) count work
items of departments in scope. The period filters what happened in it (decisions,
ratings, submissions); the backlog and the overdue list are as of now.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import connection
from django.db.models import Avg, Count, ExpressionWrapper, F, FloatField, Q, QuerySet, Sum
from django.db.models.expressions import RawSQL
from django.db.models.functions import NullIf
from django.utils import timezone

from accounts.models import Department, User
from accounts.selectors import supervised_department_ids
from workflows.models import (
    Application,
    ApplicationGroup,
    GroupDocument,
    Incident,
    Rating,
    RatingFollowUp,
    WorkItem,
)
from workflows.progress.figures import SecondsBetween, percentiles_by_group

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


def _rate(part: int | None, whole: int | None) -> float | None:
    return (part or 0) / whole if whole else None


def _backlog(dashboard: Dashboard) -> None:
    now = dashboard.now
    live = WorkItem.objects.filter(dashboard.scope.on("department_id"), status__in=LIVE)
    overdue_q = Q(statutory_due_at__lt=now, clock_stopped_at__isnull=True)
    waiting_q = Q(clock_stopped_at__isnull=False)
    rows = (
        live.values("application__service_id", "application__service__name_en", "application__service__name_zh")
        .annotate(
            step=F("step_key"),
            total=Count("id"),
            overdue=Count("id", filter=overdue_q),
            waiting=Count("id", filter=waiting_q),
        )
        .order_by("-total", "application__service__name_en", "step_key")
    )
    dashboard.backlog = [
        {
            "service_en": row["application__service__name_en"],
            "service_zh": row["application__service__name_zh"],
            "step": row["step"],
            "total": row["total"],
            "overdue": row["overdue"],
            "waiting": row["waiting"],
        }
        for row in rows
    ]
    totals = live.aggregate(
        total=Count("id"), overdue=Count("id", filter=overdue_q), waiting=Count("id", filter=waiting_q)
    )
    dashboard.backlog_total = totals["total"]
    dashboard.overdue_total = totals["overdue"]
    dashboard.waiting_for_applicant_total = totals["waiting"]


def _decided(dashboard: Dashboard) -> QuerySet[Application]:
    return Application.objects.filter(
        dashboard.scope.on("service__lead_department_id"),
        status__in=DECIDED,
        decided_at__gte=dashboard.period.since,
        decided_at__lt=dashboard.period.until,
    )


def _timeliness(dashboard: Dashboard) -> None:
    """Per service: decided, on time, median and 90th-percentile processing time (days) and the
    share of the statutory time they used (1.0 = the whole limit)."""
    decided = _decided(dashboard)
    elapsed = SecondsBetween("decided_at", "submitted_at")
    allowed = NullIf(SecondsBetween("statutory_due_at", "submitted_at"), 0.0)
    share = ExpressionWrapper(elapsed / allowed, output_field=FloatField())
    on_time = Q(statutory_due_at__isnull=False, decided_at__lte=F("statutory_due_at"))
    with_due = Q(statutory_due_at__isnull=False)
    counts = (
        decided.values("service_id", "service__name_en", "service__name_zh")
        .annotate(
            decided=Count("id"),
            with_due=Count("id", filter=with_due),
            on_time=Count("id", filter=on_time),
            limit_days=Avg("service_version__time_limit_days"),
        )
        .order_by("service__name_en")
    )
    measures = {"days": elapsed, "share": share}
    by_service = percentiles_by_group(decided, group=["service_id"], values=measures, fractions=(0.5, 0.9))
    dashboard.timeliness = []
    for row in counts:
        found = by_service.get((row["service_id"],), {})
        day, used = found.get("days", {}), found.get("share", {})
        dashboard.timeliness.append(
            {
                "service_en": row["service__name_en"],
                "service_zh": row["service__name_zh"],
                "decided": row["decided"],
                "on_time": row["on_time"],
                "on_time_rate": _rate(row["on_time"], row["with_due"]),
                "median_days": _days(day.get(0.5)),
                "p90_days": _days(day.get(0.9)),
                "median_share": used.get(0.5),
                "p90_share": used.get(0.9),
                "limit_days": round(row["limit_days"]) if row["limit_days"] is not None else None,
            }
        )
    overall = decided.aggregate(
        decided=Count("id"), with_due=Count("id", filter=with_due), on_time=Count("id", filter=on_time)
    )
    found = percentiles_by_group(decided, group=[], values=measures, fractions=(0.5, 0.9)).get((), {})
    day, used = found.get("days", {}), found.get("share", {})
    dashboard.overall = {
        "decided": overall["decided"],
        "on_time": overall["on_time"],
        "on_time_rate": _rate(overall["on_time"], overall["with_due"]),
        "median_days": _days(day.get(0.5)),
        "p90_days": _days(day.get(0.9)),
        "median_share": used.get(0.5),
        "p90_share": used.get(0.9),
    }
    # Department steps finished in the period: on time against each step's own statutory clock.
    finished = WorkItem.objects.filter(
        dashboard.scope.on("department_id"),
        status=WorkItem.Status.DONE,
        finished_at__gte=dashboard.period.since,
        finished_at__lt=dashboard.period.until,
        statutory_due_at__isnull=False,
    )
    dashboard.steps_timeliness = [
        {**row, "on_time_rate": _rate(row["on_time"], row["finished"])}
        for row in finished.values("department__code", "department__name_en", "department__name_zh")
        .annotate(finished=Count("id"), on_time=Count("id", filter=Q(finished_at__lte=F("statutory_due_at"))))
        .order_by("department__code")
    ]


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


def _ratings(dashboard: Dashboard) -> None:
    ratings = Rating.objects.filter(
        dashboard.scope.on("department_id"),
        created_at__gte=dashboard.period.since,
        created_at__lt=dashboard.period.until,
    )
    by_score = dict(ratings.values_list("score").annotate(n=Count("id")).order_by())
    dashboard.ratings = {score: by_score.get(score, 0) for score in range(5, 0, -1)}
    summary = ratings.aggregate(total=Count("id"), average=Avg("score"))
    dashboard.ratings_total = summary["total"]
    dashboard.ratings_average = round(summary["average"], 2) if summary["average"] is not None else None
    open_follow_ups = RatingFollowUp.objects.filter(
        dashboard.scope.on("department_id"), status=RatingFollowUp.Status.OPEN
    )
    counts = open_follow_ups.aggregate(total=Count("id"), overdue=Count("id", filter=Q(due_at__lt=dashboard.now)))
    dashboard.follow_ups_open = counts["total"]
    dashboard.follow_ups_overdue = counts["overdue"]
    dashboard.follow_ups = list(
        open_follow_ups.select_related("rating__application", "department").order_by("due_at")[:20]
    )


def _json_count(column: str, *, where_zero: bool = False) -> RawSQL:
    """Keys of a JSON object column (or those whose value is 0), counted in SQL."""
    table = ApplicationGroup._meta.db_table
    if connection.vendor == "postgresql":
        condition = " WHERE e.value = '0'" if where_zero else ""
        return RawSQL(f'(SELECT COUNT(*) FROM jsonb_each_text("{table}"."{column}") e{condition})', [])
    condition = " WHERE e.value = 0" if where_zero else ""
    return RawSQL(f'(SELECT COUNT(*) FROM json_each("{table}"."{column}") e{condition})', [])


def _json_array_length(column: str) -> RawSQL:
    table = ApplicationGroup._meta.db_table
    function = "jsonb_array_length" if connection.vendor == "postgresql" else "json_array_length"
    return RawSQL(f'{function}("{table}"."{column}")', [])


def _once_only(dashboard: Dashboard) -> None:
    """What "one time" saved applicants: answers prefilled from what the state knew and kept,
    documents reused from the vault rather than uploaded again, services bundled in one form."""
    in_scope = Application.objects.filter(dashboard.scope.on("service__lead_department_id")).values("group_id")
    groups = ApplicationGroup.objects.filter(
        pk__in=in_scope, submitted_at__gte=dashboard.period.since, submitted_at__lt=dashboard.period.until
    )
    figures = groups.aggregate(
        submissions=Count("id"),
        bundles=Count("id", filter=Q(life_event__isnull=False)),
        answers=Sum(_json_count("data")),
        prefilled=Sum(_json_count("field_revisions", where_zero=True)),
        changed_verified=Sum(_json_array_length("changed_verified")),
    )
    figures["applications"] = Application.objects.filter(group__in=groups).count()
    documents = GroupDocument.objects.filter(group__in=groups).aggregate(
        attached=Count("id"), reused=Count("id", filter=Q(document__created_at__lt=F("group__created_at")))
    )
    figures.update(documents)
    figures = {key: int(value or 0) for key, value in figures.items()}
    figures["prefilled_rate"] = _rate(figures["prefilled"], figures["answers"])
    figures["reused_rate"] = _rate(figures["reused"], figures["attached"])
    dashboard.once_only = figures


def dashboard_for(*, user: User, period: Period, now: datetime | None = None) -> Dashboard:
    """All figures for `user`'s scope; raises NotASupervisor for anyone else."""
    scope = scope_for(user)
    dashboard = Dashboard(scope=scope, period=period, now=now or timezone.now())
    departments = Department.objects.order_by("code")
    if scope.department_ids is not None:
        departments = departments.filter(pk__in=scope.department_ids)
    dashboard.departments = list(departments)
    _backlog(dashboard)
    _timeliness(dashboard)
    _overdue(dashboard)
    _incidents(dashboard)
    _ratings(dashboard)
    _once_only(dashboard)
    return dashboard
