"""Rollups of the supervision dashboard's period figures (workflows/progress/rollups.py).

One row per cell: a local day, the departments the cell's figures belong to and the service.
A cell holds named figures, each a count and a sum, so a new figure (an offer made, a
histogram bucket) is a new name in the builder, not a new column or migration.
"""

from django.db import models

from accounts.models import Department
from services.models import Service


class DashboardRollup(models.Model):
    """The figures of one (local day, departments, service) cell.

    `department_key` is ",<id>," for figures that belong to one department (a service's lead
    department for decisions, a step's department for steps, the rated department for ratings)
    and ",<id>,<id>," for a submission that reached several lead departments, which a
    supervisor of any of them counts once. `service` is empty for figures of a whole
    submission (once only)."""

    day = models.DateField()
    department_key = models.CharField(max_length=200)
    service = models.ForeignKey(Service, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    counts = models.JSONField(default=dict)  # {figure: integer}
    sums = models.JSONField(default=dict)  # {figure: sum of its measure}, for the figures that have one
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "department_key", "service"], nulls_distinct=False, name="dashboard_rollup_cell"
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.department_key} {self.service_id}"


class DashboardRollupState(models.Model):
    """The one row the rollup task locks (SKIP LOCKED) and advances: how far it has read the
    events and ratings, and what the last daily check found."""

    event_watermark = models.BigIntegerField(default=0)
    rating_watermark = models.BigIntegerField(default=0)
    refreshed_at = models.DateTimeField(null=True, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    drifted_cells = models.PositiveIntegerField(default=0)  # found by the last daily check

    def __str__(self) -> str:
        return f"rollups up to event {self.event_watermark}, rating {self.rating_watermark}"


class LiveWorkCount(models.Model):
    """Live work items counted ahead of time (workflows/progress/live_counts.py): how many of one
    department's live steps of one service are at one step, due on one local day (empty: no
    statutory due time) and waiting for the applicant (the clock stopped) or not. The dashboard
    adds these up instead of joining every live work item to its application."""

    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="+")
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="+")
    step_key = models.CharField(max_length=64)
    due_day = models.DateField(null=True, blank=True)
    waiting = models.BooleanField(default=False)
    count = models.IntegerField(default=0)
    # Of a counter due on the day of the last refresh: how many of its steps were not yet due at
    # that refresh (0 on every other day's counters). The page then counts live only the steps
    # that fell due since the refresh.
    ahead = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["department", "service", "step_key", "due_day", "waiting"],
                nulls_distinct=False,
                name="live_work_count_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.department_id} {self.service_id} {self.step_key} {self.due_day} {self.waiting}: {self.count}"


class LiveWorkSnapshot(models.Model):
    """What the counters hold for one application: the keys of its live steps when it was last
    counted, as [department id, service id, step key, due day or null, waiting]. The refresh
    recounts an application by comparing its live steps with this, so recounting it again
    changes nothing. Applications with no live step have none. No foreign key: a removed
    application's snapshot is what lets the check take its steps out of the counters."""

    application_id = models.BigIntegerField(primary_key=True)
    keys = models.JSONField(default=list)

    def __str__(self) -> str:
        return f"application {self.application_id}: {len(self.keys)} live steps"
