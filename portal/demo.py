"""Composes every app's demo data for `manage.py seed_demo`."""

from accounts.demo import DEMO_PASSWORD, seed_accounts, seed_departments


def seed_demo() -> list[str]:
    departments = seed_departments()
    accounts = seed_accounts()
    lines = [f"Departments: {len(departments)}", "", f"Demo accounts (password for all: {DEMO_PASSWORD}):"]
    lines += [f"  {username:<22} {role}" for username, role in accounts]
    return lines
