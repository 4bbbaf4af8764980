"""Fifty people race for the ten places of one slot on real PostgreSQL: exactly ten get one."""

import pytest

from accounts.tests.factories import UserFactory
from appointments.actions import appointment_book
from appointments.models import Appointment, Slot
from appointments.slots import BookingRefused
from appointments.tests.conftest import local
from tests.support.concurrency import in_threads

pytestmark = pytest.mark.django_db(transaction=True)


def test_fifty_threads_for_ten_places_book_exactly_ten(offering, monday):
    offering.capacity = 10
    offering.save(update_fields=["capacity"])
    people = [UserFactory(username=f"racer{index}") for index in range(50)]

    results = in_threads(
        50, lambda index: appointment_book(person=people[index], offering=offering, starts_at=local(7, 15))
    )

    won = [result for result in results if isinstance(result, Appointment)]
    refused = [result for result in results if isinstance(result, BookingRefused)]
    assert len(won) == 10 and len(refused) == 40, [
        r for r in results if not isinstance(r, Appointment | BookingRefused)
    ]
    assert all("fully booked" in refusal.message for refusal in refused)
    slot = Slot.objects.get(offering=offering, starts_at=local(7, 15))
    assert (slot.booked, slot.capacity) == (10, 10)
    assert Appointment.objects.filter(slot=slot, status=Appointment.Status.BOOKED).count() == 10


def test_the_database_refuses_an_overbooked_slot_whatever_the_code_does(offering, monday):
    from django.db import IntegrityError

    appointment_book(person=UserFactory(), offering=offering, starts_at=local(7, 15))
    with pytest.raises(IntegrityError):
        Slot.objects.filter(offering=offering).update(booked=offering.capacity + 1)
