"""`manage.py verify_audit [--witnessed PATH ...] [--key VERIFIER ...]`: recompute the
transparency log from the audit rows and check every checkpoint; exit 1 on any problem."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from lib.signed_note import NoteError, Verifier
from portal.security.audit import audit_verify


class Command(BaseCommand):
    help = (
        "Recomputes the transparency log from the application events and data-access records, checks every "
        "stored checkpoint's signature and root, and compares witnessed checkpoints (truncation, rewrites)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--database", default="default")
        parser.add_argument(
            "--witnessed",
            action="append",
            default=[],
            metavar="PATH",
            help="A checkpoint kept outside the database (a file written by `witness`, or a directory of them).",
        )
        parser.add_argument(
            "--key", action="append", default=[], metavar="VERIFIER", help="A further verifier key to accept."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            extra = [Verifier.parse(text) for text in options["key"]]
        except NoteError as error:
            raise CommandError(str(error)) from error
        notes: list[str] = []
        for name in options["witnessed"]:
            path = Path(name)
            files = sorted(path.glob("*.checkpoint")) if path.is_dir() else [path]
            if not files or not all(f.is_file() for f in files):
                raise CommandError(f"--witnessed {name}: no checkpoint file there")
            notes.extend(f.read_text(encoding="utf-8") for f in files)
        report = audit_verify(witnessed=notes, extra_verifiers=extra, using=options["database"])
        for source, count in report.rows.items():
            self.stdout.write(f"rows {source}: {count}")
        self.stdout.write(
            f"log: {report.tree_size} leaves, root {report.root.hex()}, {report.queued} rows queued, "
            f"{report.checkpoints} checkpoints, {report.witnessed} witnessed"
        )
        for problem in report.problems:
            self.stdout.write(f"PROBLEM {problem}")
        if not report.ok:
            raise CommandError(f"audit trail fails verification: {len(report.problems)} problem(s) above")
        self.stdout.write("OK the log matches the rows and every checkpoint")
