"""The engine's figures for the metrics scrape (portal/metrics.py): a few cheap, read-only
queries, each on an index, run at scrape time. docs/operations.md says what each one means."""

from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, F, Min, Q, Sum
from django.utils import timezone

from accounts.models import Department
from workflows.models import DashboardRollupState, Incident, OutboxMessage, WorkItem
from workflows.transparency.sequencer import log_lag

LIVE_STEP_STATUSES = (WorkItem.Status.OPEN, WorkItem.Status.CLAIMED)


@dataclass(frozen=True)
class EngineFigures:
    outbox_unconfirmed: int
    outbox_oldest_unconfirmed_seconds: float  # 0 when the outbox is empty
    outbox_over_warn_resends: int
    outbox_unconfirmed_resends: int  # re-sends so far of the rows still unconfirmed
    open_incidents: int
    overdue_steps: dict[str, int]  # department code → live steps past their statutory due time
    transparency_lag_seconds: float
    transparency_tree_size: int
    dashboard_rollup_drift_cells: int  # found by the last daily check of the dashboard rollups
    dashboard_rollup_lag_seconds: float  # since the last refresh of the rollups (0 before the first)


def overdue_steps_by_department() -> dict[str, int]:
    """Live steps (open or claimed) past their statutory due time, clock not stopped."""
    rows = (
        WorkItem.objects.filter(
            status__in=LIVE_STEP_STATUSES, statutory_due_at__lt=timezone.now(), clock_stopped_at__isnull=True
        )
        .values_list("department__code")
        .annotate(count=Count("id"))
        .order_by()
    )
    return dict(rows)


def department_queues() -> list[str]:
    """Every Celery queue the portal sends to: the default, the sequencer's and one per department."""
    return ["default", "transparency", *(f"dept.{code}" for code in Department.objects.values_list("code", flat=True))]


def engine_figures() -> EngineFigures:
    lag = log_lag()
    # One pass over the unconfirmed rows (a partial index): how many, the oldest, and those
    # re-sent past the warning threshold (the first send is not a re-send), as /healthz counts.
    outbox = OutboxMessage.objects.filter(confirmed_at__isnull=True).aggregate(
        unconfirmed=Count("id"),
        oldest=Min("created_at"),
        over_warn=Count("id", filter=Q(attempts__gt=settings.ENGINE_OUTBOX_WARN_RESENDS + 1)),
        resends=Sum(F("attempts") - 1, filter=Q(attempts__gt=1)),
    )
    oldest = outbox["oldest"]
    drifted, rollup_lag = _rollup_figures()
    return EngineFigures(
        outbox_unconfirmed=outbox["unconfirmed"],
        outbox_oldest_unconfirmed_seconds=0.0 if oldest is None else (timezone.now() - oldest).total_seconds(),
        outbox_over_warn_resends=outbox["over_warn"],
        outbox_unconfirmed_resends=outbox["resends"] or 0,
        open_incidents=Incident.objects.filter(status=Incident.Status.OPEN).count(),
        overdue_steps=overdue_steps_by_department(),
        transparency_lag_seconds=float(lag["transparency_lag_seconds"]),  # type: ignore[arg-type]
        transparency_tree_size=int(lag["transparency_tree_size"]),  # type: ignore[call-overload]
        dashboard_rollup_drift_cells=drifted,
        dashboard_rollup_lag_seconds=rollup_lag,
    )


def _rollup_figures() -> tuple[int, float]:
    """The dashboard rollups' state row (workflows/progress/rollups.py), one primary-key read:
    cells drifted at the last check, and seconds since the last refresh (0 before the first)."""
    state = DashboardRollupState.objects.filter(id=1).values("drifted_cells", "refreshed_at").first()
    if state is None or state["refreshed_at"] is None:
        return (state["drifted_cells"] if state else 0), 0.0
    return state["drifted_cells"], (timezone.now() - state["refreshed_at"]).total_seconds()
