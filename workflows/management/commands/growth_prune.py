"""`manage.py growth_prune`: prunes confirmed outbox rows, finished notification deliveries and
notifications past their retention, in batches (beat runs it hourly). Running it twice prunes
nothing twice; application events and data-access records are never pruned."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from workflows.growth.pruning import growth_prune


class Command(BaseCommand):
    help = (
        "Prunes confirmed outbox rows (OUTBOX_RETENTION_DAYS), finished notification deliveries "
        "(NOTIFICATION_DELIVERY_RETENTION_DAYS) and old notifications (NOTIFICATION_RETENTION_DAYS)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch", type=int, default=1000, help="Rows deleted per transaction.")
        parser.add_argument("--max-seconds", type=float, default=3600.0, help="Stop between batches after this.")

    def handle(self, *args: object, **options: Any) -> None:
        result = growth_prune(batch=options["batch"], max_seconds=options["max_seconds"])
        self.stdout.write(
            f"Pruned {result.outbox} outbox rows, {result.deliveries} notification deliveries and "
            f"{result.notifications} notifications."
            + ("" if result.complete else " Stopped at the time limit; run it again to go on.")
        )
