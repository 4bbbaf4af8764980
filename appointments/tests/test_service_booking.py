"""A counter-only service: its page offers a counter visit, booked without an application;
one active booking per person and service."""

import pytest
from django.urls import reverse

from appointments.models import Appointment
from services.models import Service

pytestmark = pytest.mark.django_db


@pytest.fixture
def counter_only(offering) -> Service:
    Service.objects.filter(pk=offering.service_id).update(online=False, at_counter=True)
    return Service.objects.get(pk=offering.service_id)


def test_the_service_page_offers_a_counter_visit_and_it_is_booked(client, alice, counter_only, monday):
    page = client.get(reverse("services:service", args=[counter_only.code]))
    assert "Book a counter visit" in page.text
    client.force_login(alice)
    url = reverse("appointments:service-book", args=[counter_only.code])
    assert 'value="2026-12-07T09:00"' in client.get(url).text
    response = client.post(url, {"time": "2026-12-07T11:30", "place": "market-hall"})
    assert response.status_code == 302
    visit = Appointment.objects.get(person=alice)
    assert visit.application_id is None and visit.work_item_id is None
    again = client.post(url, {"time": "2026-12-08T11:30"})
    assert again.status_code == 400 and "already have an appointment" in again.text
    assert 'value="2026-12-08T11:30" checked' in again.text  # the choice is kept


def test_a_service_without_places_says_so(client, alice, inspection_version, monday):
    Service.objects.filter(pk=inspection_version.service_id).update(online=False)
    client.force_login(alice)
    page = client.get(reverse("appointments:service-book", args=[inspection_version.service.code]))
    assert page.status_code == 200 and "No place takes appointments for this yet." in page.text


def test_a_service_not_at_the_counter_is_not_found(client, alice, counter_only):
    Service.objects.filter(pk=counter_only.pk).update(at_counter=False)
    client.force_login(alice)
    assert client.get(reverse("appointments:service-book", args=[counter_only.code])).status_code == 404
