"""Composes every app's demo data for `manage.py seed_demo`."""

from accounts.demo import DEMO_PASSWORD, seed_accounts, seed_departments
from services.demo import seed_catalogue
from workflows.apply.demo import seed_demo_vault


def seed_demo() -> list[str]:
    departments = seed_departments()
    accounts = seed_accounts()
    catalogue = seed_catalogue()
    vault = seed_demo_vault()
    lines = [
        f"Departments: {len(departments)}",
        *catalogue,
        f"Alice's document vault: {len(vault)} documents",
        "",
        f"Demo accounts (password for all: {DEMO_PASSWORD}):",
    ]
    lines += [f"  {username:<22} {role}" for username, role in accounts]
    return lines
