"""`manage.py dashboard_rollups_check [--days N] [--repair]`: compares the supervision
dashboard's rollups and live work counters with the raw data, as the daily beat task does, and prints
each that differs. Exit status 1 when something drifted (and was not repaired)."""

import sys

from django.core.management.base import BaseCommand, CommandParser

from workflows.progress.rollups import rollups_check


class Command(BaseCommand):
    help = "Compares the supervision dashboard's rollups and live work counters with the raw data and reports drift."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=None, help="only the last N days (default: every day)")
        parser.add_argument("--repair", action="store_true", help="rewrite what differs")

    def handle(self, *args: object, **options) -> None:
        drifts = rollups_check(days=options["days"], repair=options["repair"])
        for drift in drifts:
            self.stdout.write(drift.describe())
        repaired = " (repaired)" if options["repair"] and drifts else ""
        self.stdout.write(f"dashboard rollups: {len(drifts)} cells drifted{repaired}")
        if drifts and not options["repair"]:
            sys.exit(1)
