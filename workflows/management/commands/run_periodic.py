"""The embedded mode's beat: without Redis there is no Celery beat, so `bin/serve` runs this
loop. It runs every task of `CELERY_BEAT_SCHEDULE` in-process, each at its own interval, so the
embedded mode sweeps exactly what the beat sweeps (outbox relay, timers, stalled steps, draft
purge, notification retries, rating follow-up reminders, and whatever is scheduled next)."""

import logging
import time

from celery import current_app
from django.conf import settings
from django.core.management.base import BaseCommand

logger = logging.getLogger("workflows.engine")


def _seconds(schedule: object) -> float:
    """A beat entry's interval: a number of seconds, or a timedelta/schedule object."""
    if isinstance(schedule, int | float):
        return float(schedule)
    run_every = getattr(schedule, "run_every", schedule)
    return float(run_every.total_seconds())  # type: ignore[attr-defined]


class Command(BaseCommand):
    help = "Runs the tasks of the beat schedule in-process, each at its interval (embedded mode)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--interval", type=float, default=5.0, help="Seconds between looks at the schedule.")
        parser.add_argument("--once", action="store_true", help="Run each scheduled task once and exit.")

    def handle(self, *args: object, **options: object) -> None:
        interval = float(options["interval"])  # type: ignore[arg-type]
        entries = [
            (name, entry["task"], _seconds(entry["schedule"])) for name, entry in settings.CELERY_BEAT_SCHEDULE.items()
        ]
        due = {name: 0.0 for name, _task, _every in entries}
        while True:
            now = time.monotonic()
            for name, task_name, every in entries:
                if now < due[name]:
                    continue
                due[name] = now + every
                try:
                    current_app.tasks[task_name]()  # a task called directly runs here and now
                except Exception:
                    logger.exception("periodic sweep failed: %s (%s)", name, task_name)
                else:
                    logger.debug("periodic sweep ran: %s", name)
            if options["once"]:
                return
            time.sleep(interval)
