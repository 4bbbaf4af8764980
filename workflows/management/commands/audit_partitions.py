"""`manage.py audit_partitions`: makes the monthly partitions of the audit tables from this month
to AUDIT_PARTITION_MONTHS_AHEAD months ahead (PostgreSQL; beat runs it daily) and lists them."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from workflows.growth.partitions import AUDIT_TABLES, audit_partitions_ensure, partitions_of


class Command(BaseCommand):
    help = "Makes the missing monthly partitions of the audit tables (PostgreSQL) and lists them."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--months-ahead", type=int, default=None, help="Default: AUDIT_PARTITION_MONTHS_AHEAD.")

    def handle(self, *args: object, **options: Any) -> None:
        months_ahead = options["months_ahead"]
        if months_ahead is not None and not 0 <= months_ahead <= 120:
            raise CommandError("--months-ahead must be between 0 and 120.")
        report = audit_partitions_ensure(months_ahead=months_ahead)
        for name in report.created:
            self.stdout.write(f"made {name}")
        for table in AUDIT_TABLES:
            names = partitions_of(table)
            self.stdout.write(f"{table}: " + (", ".join(names) if names else "not partitioned (SQLite)"))
        if report.failed:
            raise CommandError("Not made (see the log): " + ", ".join(report.failed))
