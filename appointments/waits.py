"""What an appointment step shows the applicant on the progress page (registered in apps.py)."""

from collections.abc import Sequence

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from appointments.links import manage_path
from appointments.models import Appointment
from workflows.engine.waits import StepWait
from workflows.models import WorkItem


def appointment_waits(items: Sequence[WorkItem]) -> dict[int, StepWait]:
    booked = {
        appointment.work_item_id: appointment
        for appointment in Appointment.objects.filter(
            work_item__in=[item.pk for item in items], status__in=Appointment.ACTIVE
        ).select_related("offering__place")
    }
    waits: dict[int, StepWait] = {}
    for item in items:
        appointment = booked.get(item.pk)
        if appointment is None:
            waits[item.pk] = StepWait(
                summary=_("Waiting for you to book an appointment."),
                action_url=reverse("appointments:step-book", args=[item.pk]),
                action_label=_("Book a time"),
                applicant_acts=True,
            )
            continue
        when = timezone.localtime(appointment.starts_at)
        waits[item.pk] = StepWait(
            summary=_("Your appointment: %(day)s at %(time)s, %(place)s.")
            % {
                "day": when.strftime("%Y-%m-%d"),
                "time": when.strftime("%H:%M"),
                "place": appointment.offering.place.name,
            },
            action_url=manage_path(appointment.pk),
            action_label=_("Change or cancel"),
        )
    return waits
