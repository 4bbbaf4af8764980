"""The embedded mode's beat: without Redis there is no Celery beat, so `bin/serve` runs this
loop, which calls the engine's periodic sweeps in-process every few seconds."""

import logging
import time

from django.core.management.base import BaseCommand

from workflows.engine import automatic, timers
from workflows.outbox import outbox_relay
from workflows.progress.actions import rating_follow_ups_remind

logger = logging.getLogger("workflows.engine")


class Command(BaseCommand):
    help = (
        "Runs the outbox relay, the timer sweep, the stalled-step recovery and the rating follow-up "
        "reminders in a loop (embedded mode)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--interval", type=float, default=5.0, help="Seconds between sweeps.")
        parser.add_argument("--once", action="store_true", help="Run each sweep once and exit.")

    def handle(self, *args: object, **options: object) -> None:
        interval = float(options["interval"])  # type: ignore[arg-type]
        while True:
            for name, sweep in (
                ("outbox relay", outbox_relay),
                ("timers", timers.timers_fire),
                ("stalled steps", automatic.stalled_steps_recover),
                ("rating follow-up reminders", rating_follow_ups_remind),
            ):
                try:
                    sweep()
                except Exception:
                    logger.exception("periodic sweep failed: %s", name)
            if options["once"]:
                return
            time.sleep(interval)
