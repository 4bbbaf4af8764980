"""`manage.py load_holidays`: the official holidays into the working-day calendar (make run, the demo)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from workflows import clock
from workflows.holidays import holidays_enter_provisional, holidays_load_official, official_years


class Command(BaseCommand):
    help = (
        "Loads the public holidays and make-up working days of mainland China from the chinese-calendar "
        "package into the working-day calendar, for every year it covers (or --year). Running it twice "
        "changes nothing; holidays entered by an administrator are kept."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--year", type=int, action="append", help="Only this year (repeatable).")
        parser.add_argument(
            "--provisional",
            type=int,
            action="append",
            default=[],
            help="A year not published yet: enter its statutory fixed-date holidays and mark it provisional.",
        )

    def handle(self, *args: object, **options: Any) -> None:
        years: list[int] | None = options.get("year") or None
        available = official_years()
        for year in years or []:
            if year not in available:
                self.stderr.write(
                    f"{year}: not in the package (it covers {available.start}–{available.stop - 1}); "
                    "enter that year's holidays in the admin when the State Council publishes them."
                )
        loaded = holidays_load_official(years=years)
        for loaded_year in loaded.years:
            self.stdout.write(
                f"{loaded_year.year}: {loaded_year.holidays} holidays, {loaded_year.workdays} make-up working days"
            )
        for year in options["provisional"]:
            if year in available:
                continue  # published: loaded above
            entered = holidays_enter_provisional(year=year)
            self.stdout.write(
                self.style.WARNING(
                    f"{year}: provisional, {entered} statutory holidays; no lunar festivals or make-up working days "
                    "until the State Council's notice is loaded"
                )
            )
        coverage = clock.coverage()
        if coverage.last is None:
            self.stdout.write(
                self.style.WARNING("The calendar does not cover this year: deadlines cannot be computed.")
            )
        else:
            self.stdout.write(f"Working-day calendar complete through {coverage.last} ({loaded.source}).")
