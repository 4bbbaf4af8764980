"""Fixtures of the appointment tests: the market hall (open Monday to Friday, 9–12 and 14–17),
an inspection step that waits for an appointment there, and time frozen on a Monday morning."""

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest
import time_machine

from appointments.models import Offering, OpeningHours, Place
from workflows.tests.factories import departments, published_version
from workflows.tests.progress_support import item

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Monday 7 December 2026, 08:00 local: the hall opens at 09:00.
MONDAY_MORNING = datetime(2026, 12, 7, 8, 0, tzinfo=SHANGHAI)

# An inspection at the market hall, then the licence review.
INSPECTION_ROUTE = {
    "steps": [
        {"key": "inspection", "department": "market", "kind": "appointment", "label_en": "Inspection of the premises"},
        {"key": "licence", "department": "market", "kind": "review", "after": ["inspection"], "label_en": "Licence"},
    ]
}


def local(day: int, hour: int, minute: int = 0, month: int = 12) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


@pytest.fixture
def monday():
    with time_machine.travel(MONDAY_MORNING, tick=False) as traveller:
        yield traveller


@pytest.fixture
def hall(db) -> Place:
    place = Place.objects.create(
        department=departments()["market"],
        code="market-hall",
        name_en="Market Regulation hall, counter 3",
        name_zh="市场监管大厅3号窗口",
        address_en="1 People's Road",
        address_zh="人民路1号",
    )
    for weekday in range(5):
        OpeningHours.objects.create(place=place, weekday=weekday, opens=time(9), closes=time(12))
        OpeningHours.objects.create(place=place, weekday=weekday, opens=time(14), closes=time(17))
    return place


@pytest.fixture
def inspection_version(db):
    return published_version(route=INSPECTION_ROUTE, code="food-premises")


@pytest.fixture
def offering(hall, inspection_version) -> Offering:
    return Offering.objects.create(place=hall, service=inspection_version.service, slot_minutes=30, capacity=2)


@pytest.fixture
def inspection(alice, inspection_version, offering, monday, django_capture_on_commit_callbacks):
    """Alice's application, waiting at its inspection step."""
    from workflows.tests.progress_support import submit

    application = submit(
        django_capture_on_commit_callbacks, applicant=alice, route=INSPECTION_ROUTE, code="food-premises"
    )
    return item(application, "inspection")
