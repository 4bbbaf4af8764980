"""`manage.py retention_sweep`: removes the answers and documents of finished applications whose
retention ended (beat runs it daily). Running it twice removes nothing twice."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from workflows.privacy.retention import retention_sweep


class Command(BaseCommand):
    help = "Removes the answers and documents of finished applications whose retention period is over."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--limit", type=int, default=1000, help="At most this many applications in one run.")

    def handle(self, *args: object, **options: Any) -> None:
        result = retention_sweep(limit=options["limit"])
        self.stdout.write(
            f"Retention ended for {result.applications} applications; {result.documents} documents removed."
        )
