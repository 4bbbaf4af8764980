"""Rollups of the supervision dashboard's period figures (workflows/progress/rollups.py).

One row per cell: a local day, the departments the cell's figures belong to and the service.
A cell holds named figures, each a count and a sum, so a new figure (an offer made, a
histogram bucket) is a new name in the builder, not a new column or migration.
"""

from django.db import models

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
