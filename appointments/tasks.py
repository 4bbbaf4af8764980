"""The appointment sweep on the beat: reminders the day before, and seats of ended steps given back."""

from celery import shared_task

from appointments.actions import orphans_release, reminders_send

SWEEP_TASK = "appointments.sweep"


@shared_task(name=SWEEP_TASK)
def appointments_sweep() -> dict[str, int]:
    return {"reminded": reminders_send(), "released": orphans_release()}
