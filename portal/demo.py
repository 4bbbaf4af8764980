"""Composes every app's demo data for `manage.py seed_demo`."""

from django.conf import settings
from django.utils import timezone

from accounts.demo import DEMO_PASSWORD, seed_accounts, seed_departments
from appointments.demo import seed_appointments
from services.demo import seed_catalogue
from workflows.apply.demo import seed_demo_vault
from workflows.holidays import holidays_enter_provisional, holidays_load_official, official_years


def seed_demo_calendar() -> list[str]:
    """The official holidays (as `manage.py load_holidays`), and the next year entered as
    provisional while the State Council's arrangement is not in the package yet, so the demo's
    deadlines reaching it are computed (and operators are warned)."""
    loaded = holidays_load_official()
    lines = [f"Working-day calendar: official through {loaded.last_year} ({loaded.source})"]
    next_year = timezone.localdate().year + 1
    if next_year not in official_years():
        holidays_enter_provisional(year=next_year)
        lines.append(f"  {next_year}: provisional (statutory fixed dates only) until its notice is published")
    return lines


def seed_demo() -> list[str]:
    calendar = seed_demo_calendar()
    departments = seed_departments()
    accounts = seed_accounts()
    catalogue = seed_catalogue()
    vault = seed_demo_vault()
    places = seed_appointments()
    lines = [
        *calendar,
        f"Departments: {len(departments)}",
        *catalogue,
        f"Alice's document vault: {len(vault)} documents",
        f"Appointment places: {', '.join(place.code for place in places)}",
        "",
        f"Demo accounts (password for all: {DEMO_PASSWORD}):",
    ]
    lines += [f"  {username:<22} {role}" for username, role in accounts]
    lines += [
        "Staff confirm a second factor at sign-in: `python manage.py demo_code <log-in>` prints the code",
        "of their demo authenticator app (or add a passkey on http://localhost, not 127.0.0.1).",
    ]
    if settings.DEMO_EID:
        # Imported here: django-oauth-toolkit is installed only where the demo eID runs.
        from portal.demo_eid.application import demo_eid_application_ensure

        application = demo_eid_application_ensure()
        lines += ["", f"Demo national eID at {settings.EID_ISSUER}/ (callbacks: {application.redirect_uris})"]
    return lines
