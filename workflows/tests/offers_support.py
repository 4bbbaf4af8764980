"""Helpers for the proactive offer tests (no tests here): the demo catalogue with its rule
(a newborn's household registration approved → the childcare allowance offered, the newborn's
medical insurance granted without a request), and a registration moved through the real engine."""

import datetime
from typing import Any

import pytest
from django.utils import timezone

from accounts.demo import seed_departments
from accounts.models import Department, Role
from services.demo.loader import seed_catalogue
from services.models import Service
from services.selectors import current_version
from tests.conftest import staff_member
from workflows.models import Application
from workflows.tests.factories import application_submit
from workflows.tests.progress_support import decide
from workflows.tests.test_apply_support import ALICE_ID, verify_alice

FATHER_ID = "110105198001010032"  # passes the GB 11643 check


def birth_answers(**changes: Any) -> dict[str, Any]:
    """What Alice, the mother, typed to register her baby (born last month)."""
    born = timezone.localdate() - datetime.timedelta(days=30)
    return {
        "person.full_name": "Alice Wang",
        "person.id_number": ALICE_ID,
        "person.phone": "13800138000",
        "household.is_local": True,
        "mother.full_name": "Alice Wang",
        "mother.id_number": ALICE_ID,
        "father.full_name": "Wei Zhang",
        "father.id_number": FATHER_ID,
        "baby.name": "Xiaoming Zhang",
        "baby.sex": "male",
        "baby.date_of_birth": born.isoformat(),
        **changes,
    }


@pytest.fixture
def demo_catalogue(db) -> None:
    seed_departments()
    seed_catalogue()


@pytest.fixture
def psb_clerk(demo_catalogue):
    return staff_member("clerk.psb", "Clerk Psb", Department.objects.get(code="psb"), Role.CLERK)


@pytest.fixture
def verified_alice(alice):
    verify_alice(alice)
    return alice


def birth_registered(capture, *, applicant, clerk, **changes: Any) -> Application:
    """The newborn's household registration, submitted, checked, approved and issued by the engine."""
    version = current_version(Service.objects.get(code="newborn-household-registration"))
    assert version is not None
    with capture(execute=True):
        application = application_submit(applicant=applicant, version=version, data=birth_answers(**changes))
    decide(capture, application, "register", clerk)
    application.refresh_from_db()
    return application
