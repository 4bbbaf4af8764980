"""The demo's places (`manage.py seed_demo`, composed in portal/demo.py): the fire inspectors'
visits for the fire safety check (an appointment step of its route) and the marriage registry's
counter (a counter-only service booked from its page). Seeding twice changes nothing."""

from datetime import time
from typing import Any

from django.db import transaction

from accounts.models import Department
from appointments.models import Offering, OpeningHours, Place
from services.models import Service

PLACES: list[dict[str, Any]] = [
    {
        "code": "fire-inspections",
        "department": "fire",
        "kind": Place.Kind.HALL,
        "name_en": "Fire and Rescue inspection team",
        "name_zh": "消防救援检查组",
        "address_en": "The inspectors come to your venue",
        "address_zh": "检查人员到您的场所",
        "hours": [(time(9), time(12)), (time(14), time(17))],
        "offerings": [("fire-safety-check", 60, 2)],
    },
    {
        "code": "marriage-registry",
        "department": "civil",
        "kind": Place.Kind.COUNTER,
        "name_en": "Marriage registry, hall 1",
        "name_zh": "婚姻登记处一号大厅",
        "address_en": "8 Harmony Street",
        "address_zh": "和谐街8号",
        "hours": [(time(9), time(12)), (time(13, 30), time(17))],
        "offerings": [("marriage-registration", 30, 3)],
    },
]


@transaction.atomic
def seed_appointments() -> list[Place]:
    places = []
    for spec in PLACES:
        department = Department.objects.filter(code=spec["department"]).first()
        if department is None:
            continue
        place, _created = Place.objects.update_or_create(
            code=spec["code"],
            defaults={
                "department": department,
                **{key: spec[key] for key in ("kind", "name_en", "name_zh", "address_en", "address_zh")},
            },
        )
        if not place.hours.exists():
            OpeningHours.objects.bulk_create(
                [
                    OpeningHours(place=place, weekday=weekday, opens=opens, closes=closes)
                    for weekday in range(5)
                    for opens, closes in spec["hours"]
                ]
            )
        for code, minutes, capacity in spec["offerings"]:
            service = Service.objects.filter(code=code).first()
            if service is not None:
                Offering.objects.get_or_create(
                    place=place, service=service, defaults={"slot_minutes": minutes, "capacity": capacity}
                )
        places.append(place)
    return places
