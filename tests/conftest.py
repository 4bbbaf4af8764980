"""Shared fixtures: the standard actors (DESIGN §9), a real Celery worker process, throwaway
Redis servers for fault tests, and the Chromium browser harness."""

import os

import pytest

from accounts.models import Department, Role
from accounts.tests.factories import PASSWORD, MembershipFactory, UserFactory

# Playwright's sync API runs an event loop in the test thread; Django's ORM calls from that
# thread are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def department_a(db) -> Department:
    return Department.objects.get_or_create(
        code="market", defaults={"short_code": "MKT", "name_en": "Market Regulation", "name_zh": "市场监督管理局"}
    )[0]


@pytest.fixture
def department_b(db) -> Department:
    return Department.objects.get_or_create(
        code="fire", defaults={"short_code": "FIR", "name_en": "Fire and Rescue", "name_zh": "消防救援支队"}
    )[0]


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def alice(db):
    return UserFactory(username="alice", display_name="Alice Wang", email="alice@example.org")


@pytest.fixture
def bob(db):
    return UserFactory(username="bob", display_name="Bob Li", email="bob@example.org")


@pytest.fixture
def clerk_a(department_a):
    return MembershipFactory(
        user=UserFactory(username="clerk.a", display_name="Clerk A", is_staff=True),
        department=department_a,
        role=Role.CLERK,
    ).user


@pytest.fixture
def clerk_b(department_b):
    return MembershipFactory(
        user=UserFactory(username="clerk.b", display_name="Clerk B", is_staff=True),
        department=department_b,
        role=Role.CLERK,
    ).user


@pytest.fixture
def supervisor(department_a):
    return MembershipFactory(
        user=UserFactory(username="supervisor.a", display_name="Supervisor A", is_staff=True),
        department=department_a,
        role=Role.SUPERVISOR,
    ).user


@pytest.fixture
def administrator(db):
    return UserFactory(username="admin", display_name="Administrator", is_staff=True, is_superuser=True)


@pytest.fixture(autouse=True)
def english_by_default():
    """A request in Chinese leaves its language active in the thread; each test starts in English."""
    from django.utils import translation

    translation.activate("en")
    yield
    translation.activate("en")
