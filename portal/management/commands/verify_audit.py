"""`manage.py verify_audit`: walk the audit chains; exit 1 at the first broken link."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal.security.audit import audit_verify


class Command(BaseCommand):
    help = "Verifies the hash chains of application events and data-access records."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--database", default="default")

    def handle(self, *args: Any, **options: Any) -> None:
        broken = []
        for report in audit_verify(using=options["database"]):
            if report.broken is None:
                self.stdout.write(f"OK {report.table}: {report.rows} rows, head {report.head or '(empty)'}")
            else:
                self.stdout.write(report.broken.describe())
                broken.append(report.broken)
        if broken:
            raise CommandError(f"audit trail broken: {len(broken)} chain(s) fail verification; first link above")
