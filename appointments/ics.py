"""The calendar file (.ics, RFC 5545) of an appointment, made with the icalendar package
(imported when the first calendar file is made, not by every process that knows appointments)."""

from django.conf import settings
from django.utils import timezone, translation

from appointments.models import Appointment
from lib.text import in_language


def appointment_ics(appointment: Appointment, *, language: str = "en") -> str:
    """A one-event calendar; a cancelled appointment is sent as a cancellation of the same event."""
    from icalendar import Calendar, Event

    offering = appointment.offering
    place, service = offering.place, offering.service
    cancelled = appointment.status in (Appointment.Status.CANCELLED, Appointment.Status.RESCHEDULED)
    with translation.override(language):
        calendar = Calendar()
        calendar.add("prodid", "-//One Door//Appointments//EN")
        calendar.add("version", "2.0")
        calendar.add("method", "CANCEL" if cancelled else "PUBLISH")
        event = Event()
        event.add("uid", f"appointment-{appointment.pk}@{settings.PUBLIC_BASE_URL.split('://', 1)[-1].rstrip('/')}")
        event.add("dtstamp", timezone.now())
        event.add("dtstart", timezone.localtime(appointment.starts_at))
        event.add("dtend", timezone.localtime(appointment.ends_at))
        event.add("summary", f"{in_language(service.name_en, service.name_zh)} — {place.name}")
        event.add("location", ", ".join(part for part in (place.name, place.address) if part))
        event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
        calendar.add_component(event)
        return calendar.to_ical().decode()


def ics_attachment(appointment: Appointment, *, language: str = "en") -> dict[str, str]:
    return {
        "filename": "appointment.ics",
        "content_type": "text/calendar",
        "content": appointment_ics(appointment, language=language),
    }
