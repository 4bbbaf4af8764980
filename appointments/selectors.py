"""Reads scoped to the person asking: an applicant's appointment steps, a clerk's places and day lists."""

from datetime import date

from django.db.models import QuerySet

from accounts.models import User
from accounts.selectors import COUNTER_ROLES, department_ids
from appointments.models import Appointment, Offering, Place
from services.models import Service
from workflows.clock import end_of_day, start_of_day
from workflows.models import WorkItem
from workflows.progress.selectors import applications_for_applicant


def appointment_step_for_applicant(*, user: User, work_item_id: int) -> WorkItem:
    """An appointment step of an application the person follows; WorkItem.DoesNotExist otherwise."""
    return (
        WorkItem.objects.filter(kind=WorkItem.Kind.APPOINTMENT, application__in=applications_for_applicant(user=user))
        .select_related("application__service", "department")
        .get(pk=work_item_id)
    )


def active_appointment_of_step(work_item: WorkItem) -> Appointment | None:
    return (
        Appointment.objects.filter(work_item=work_item, status__in=Appointment.ACTIVE)
        .select_related("offering__place")
        .first()
    )


def counter_offerings(service: Service) -> list[Offering]:
    """Where a counter visit for the service can be booked."""
    return list(
        Offering.objects.filter(service=service, active=True, place__active=True).select_related("place", "service")
    )


def places_for_staff(*, user: User) -> QuerySet[Place]:
    """The places of the departments where the person works at the counter or the queue."""
    return Place.objects.filter(department_id__in=department_ids(user=user, roles=COUNTER_ROLES)).order_by("code")


def day_list(*, place: Place, day: date) -> QuerySet[Appointment]:
    """A place's appointments of one local day, in time order, with who and what."""
    return (
        Appointment.objects.filter(
            offering__place=place, starts_at__gte=start_of_day(day), starts_at__lt=end_of_day(day)
        )
        .exclude(status=Appointment.Status.RESCHEDULED)
        .select_related("person", "offering__service", "application")
        .order_by("starts_at", "pk")
    )
