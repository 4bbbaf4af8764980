"""Every write about appointments: book, reschedule, cancel, check in, mark done or no-show,
close a place, remind. Each is one transaction.

No slot is ever overbooked: a booking takes a seat with one conditional update,
`UPDATE slot SET booked = booked + 1 WHERE … AND booked < capacity`. PostgreSQL re-checks the
condition on the row as committed by a concurrent booking, so of many people racing for the
last seat exactly one row changes; the others are told the time is full. The check constraint
`slot_never_overbooked` holds the line should any code forget. A reschedule takes the new seat
before it gives the old one back, so a full new time leaves the old booking as it was.
"""

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F, Value
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.selectors import COUNTER_ROLES, has_role
from appointments.ics import ics_attachment
from appointments.links import manage_path
from appointments.models import Appointment, Closure, Offering, Place, Slot
from appointments.slots import BookingRefused, bookable_time, free_page
from workflows.clock import end_of_day, start_of_day
from workflows.engine.waits import waiting_step_complete
from workflows.models import Notification, WorkItem
from workflows.notifications.notify import notify, recipient_language

Status = Appointment.Status


# --- Seats -----------------------------------------------------------------------------------


def _seat_take(offering: Offering, starts_at: datetime, ends_at: datetime) -> Slot:
    """One seat of the slot, or BookingRefused when it is full (the conditional update)."""
    Slot.objects.bulk_create(
        [Slot(offering=offering, starts_at=starts_at, ends_at=ends_at, capacity=offering.capacity)],
        ignore_conflicts=True,
    )
    taken = Slot.objects.filter(offering=offering, starts_at=starts_at, booked__lt=F("capacity")).update(
        booked=F("booked") + 1
    )
    if taken != 1:
        raise BookingRefused(_("Sorry, that time has just been fully booked. Choose another time."))
    return Slot.objects.get(offering=offering, starts_at=starts_at)


def _seat_release(slot_id: int) -> None:
    Slot.objects.filter(pk=slot_id, booked__gt=0).update(booked=F("booked") - 1)


# --- Telling the person ----------------------------------------------------------------------


def _tell(appointment: Appointment, event: str, *, dedupe: str, context: dict | None = None) -> None:
    """A notification with the appointment's .ics (e-mail attachment), linking to its change page."""
    person = appointment.person
    language = recipient_language(person)
    place = appointment.offering.place
    notify(
        user=person,
        event=event,
        application=appointment.application,
        link=manage_path(appointment.pk),
        dedupe_key=dedupe,
        context={
            "service": appointment.offering.service,
            "place": place,
            "address": (place.address_zh if language == "zh-hans" and place.address_zh else place.address_en),
            "starts_at": timezone.localtime(appointment.starts_at),
            **(context or {}),
        },
        attachments=[ics_attachment(appointment, language=language)],
    )


# --- Booking ---------------------------------------------------------------------------------


def _active_for(*, work_item: WorkItem | None, person: User, offering: Offering) -> Appointment | None:
    active = Appointment.objects.filter(status__in=Appointment.ACTIVE)
    if work_item is not None:
        return active.filter(work_item=work_item).first()
    return active.filter(person=person, offering=offering, work_item__isnull=True).first()


def _second_booking(existing: Appointment) -> BookingRefused:
    when = timezone.localtime(existing.starts_at)
    return BookingRefused(
        _("You already have an appointment for this on %(day)s at %(time)s. Change or cancel that one instead.")
        % {"day": when.strftime("%Y-%m-%d"), "time": when.strftime("%H:%M")}
    )


def offerings_for_step(work_item: WorkItem) -> list[Offering]:
    """Where an appointment step can be booked: the service's offerings at its department's places."""
    return list(
        Offering.objects.filter(
            active=True,
            place__active=True,
            place__department_id=work_item.department_id,
            service_id=work_item.application.service_id,
        ).select_related("place", "service")
    )


def appointment_book(
    *,
    person: User,
    offering: Offering,
    starts_at: datetime | None,
    work_item: WorkItem | None = None,
    now: datetime | None = None,
) -> Appointment:
    """Books one seat. For a route step (`work_item`): the step must be an open appointment step
    of the person's application at a place of the step's department."""
    now = now or timezone.now()
    if work_item is not None:
        if work_item.kind != WorkItem.Kind.APPOINTMENT or work_item.status != WorkItem.Status.OPEN:
            raise BookingRefused(_("This step does not take an appointment any more."))
        if offering.pk not in {o.pk for o in offerings_for_step(work_item)}:
            raise BookingRefused(_("This place does not take appointments for this step. Choose another place."))
    existing = _active_for(work_item=work_item, person=person, offering=offering)
    if existing is not None:
        raise _second_booking(existing)
    start, end = bookable_time(offering, starts_at, now=now)
    try:
        with transaction.atomic():
            slot = _seat_take(offering, start, end)
            appointment = Appointment.objects.create(
                slot=slot,
                offering=offering,
                person=person,
                application=work_item.application if work_item is not None else None,
                work_item=work_item,
                starts_at=start,
                ends_at=end,
            )
            _tell(appointment, Notification.Event.APPOINTMENT_BOOKED, dedupe=f"appointment-booked-{appointment.pk}")
    except IntegrityError as exc:
        # Two bookings for the same step raced: the constraint kept one, and the seat taken
        # here was rolled back with the rest.
        existing = _active_for(work_item=work_item, person=person, offering=offering)
        if existing is None:
            raise
        raise _second_booking(existing) from exc
    return appointment


def _locked(appointment_id: int) -> Appointment:
    return (
        Appointment.objects.select_for_update(of=("self",))
        .select_related("offering__place", "offering__service", "person", "application")
        .get(pk=appointment_id)
    )


def _refuse_unless_changeable(appointment: Appointment, now: datetime) -> None:
    if appointment.status == Status.RESCHEDULED:
        raise BookingRefused(_("This appointment was already moved to another time."))
    if appointment.status == Status.CANCELLED:
        raise BookingRefused(_("This appointment was already cancelled."))
    if appointment.status != Status.BOOKED or appointment.starts_at <= now:
        raise BookingRefused(_("This appointment has already taken place, so it cannot be changed."))


def _move(appointment: Appointment, start: datetime, end: datetime) -> Appointment:
    """The new booking first (refused when full, the old one untouched), then the old seat back."""
    slot = _seat_take(appointment.offering, start, end)
    appointment.status = Status.RESCHEDULED
    appointment.save(update_fields=["status"])
    _seat_release(appointment.slot_id)
    moved = Appointment.objects.create(
        slot=slot,
        offering=appointment.offering,
        person=appointment.person,
        application=appointment.application,
        work_item_id=appointment.work_item_id,
        starts_at=start,
        ends_at=end,
    )
    appointment.replaced_by = moved
    appointment.save(update_fields=["replaced_by"])
    return moved


def appointment_reschedule(
    *, appointment_id: int, starts_at: datetime | None, now: datetime | None = None
) -> Appointment:
    """Moves a booked appointment to another time of the same offering; returns the new booking."""
    now = now or timezone.now()
    with transaction.atomic():
        appointment = _locked(appointment_id)
        _refuse_unless_changeable(appointment, now)
        start, end = bookable_time(appointment.offering, starts_at, now=now)
        if start == appointment.starts_at:
            raise BookingRefused(_("That is already the time of your appointment. Choose another time."))
        moved = _move(appointment, start, end)
        _tell(moved, Notification.Event.APPOINTMENT_BOOKED, dedupe=f"appointment-booked-{moved.pk}")
    return moved


def appointment_cancel(*, appointment_id: int, reason: str = "", now: datetime | None = None) -> Appointment:
    now = now or timezone.now()
    with transaction.atomic():
        appointment = _locked(appointment_id)
        _refuse_unless_changeable(appointment, now)
        appointment.status = Status.CANCELLED
        appointment.cancel_reason = reason
        appointment.finished_at = now
        appointment.save(update_fields=["status", "cancel_reason", "finished_at"])
        _seat_release(appointment.slot_id)
        _tell(
            appointment,
            Notification.Event.APPOINTMENT_CANCELLED,
            dedupe=f"appointment-cancelled-{appointment.pk}",
            context={"reason": reason},
        )
    return appointment


# --- At the counter --------------------------------------------------------------------------


def _locked_for_staff(appointment_id: int, clerk: User) -> Appointment:
    """The appointment, locked, when the clerk works at its place's department (else DoesNotExist)."""
    appointment = _locked(appointment_id)
    if not has_role(clerk, COUNTER_ROLES, appointment.offering.place.department_id):
        raise Appointment.DoesNotExist
    return appointment


def appointment_check_in(*, appointment_id: int, clerk: User) -> Appointment:
    with transaction.atomic():
        appointment = _locked_for_staff(appointment_id, clerk)
        if appointment.status != Status.BOOKED:
            raise BookingRefused(_("Only a booked appointment can be checked in."))
        appointment.status = Status.CHECKED_IN
        appointment.checked_in_at = timezone.now()
        appointment.save(update_fields=["status", "checked_in_at"])
    return appointment


def appointment_mark_done(*, appointment_id: int, clerk: User) -> Appointment:
    """The visit took place; a route step waiting for it is done and the route moves on."""
    with transaction.atomic():
        appointment = _locked_for_staff(appointment_id, clerk)
        if appointment.status not in Appointment.ACTIVE:
            raise BookingRefused(_("This appointment is no longer booked, so it cannot be marked done."))
        appointment.status = Status.DONE
        appointment.finished_at = timezone.now()
        appointment.finished_by = clerk
        appointment.save(update_fields=["status", "finished_at", "finished_by"])
        if appointment.work_item_id is not None:
            waiting_step_complete(
                work_item_id=appointment.work_item_id,
                kind=WorkItem.Kind.APPOINTMENT,
                actor=clerk,
                payload={"appointment": appointment.pk},
            )
    return appointment


def appointment_mark_no_show(*, appointment_id: int, clerk: User) -> Appointment:
    """The person did not come; a route step stays open for them to book again."""
    with transaction.atomic():
        appointment = _locked_for_staff(appointment_id, clerk)
        if appointment.status != Status.BOOKED:
            raise BookingRefused(_("Only a booked appointment that nobody checked in can be marked as not kept."))
        if appointment.starts_at > timezone.now():
            raise BookingRefused(_("The appointment has not begun yet."))
        appointment.status = Status.NO_SHOW
        appointment.finished_at = timezone.now()
        appointment.finished_by = clerk
        appointment.save(update_fields=["status", "finished_at", "finished_by"])
    return appointment


# --- Administration --------------------------------------------------------------------------


def offering_capacity_apply(*, offering: Offering, now: datetime | None = None) -> int:
    """A changed capacity holds for the times not begun yet that somebody has booked (the others
    take it when first booked). Lowered below a slot's bookings, that slot keeps its people:
    nobody loses a booking, and nobody new gets in."""
    return Slot.objects.filter(offering=offering, starts_at__gt=now or timezone.now()).update(
        capacity=Greatest(Value(offering.capacity), F("booked"))
    )


def _closure_reason(closure: Closure, person: User) -> str:
    """The closure's reason in the language the person reads their messages in."""
    if recipient_language(person) == "zh-hans" and closure.reason_zh:
        return closure.reason_zh
    return closure.reason_en


def closure_add(
    *, place: Place, starts_at: datetime, ends_at: datetime, reason_en: str, reason_zh: str = "", actor: User | None
) -> tuple[Closure, int, int]:
    """Closes a place for a while. Each booking then moves to the next free time of its offering
    after the closure, or, when there is none within the booking horizon, is cancelled; each
    person is told. Returns the closure and how many were moved and cancelled."""
    moved = cancelled = 0
    with transaction.atomic():
        closure = Closure.objects.create(
            place=place,
            starts_at=starts_at,
            ends_at=ends_at,
            reason_en=reason_en,
            reason_zh=reason_zh,
            created_by=actor,
        )
        affected = list(
            Appointment.objects.select_for_update(of=("self",))
            .filter(offering__place=place, status=Status.BOOKED, starts_at__lt=ends_at, ends_at__gt=starts_at)
            .filter(starts_at__gt=timezone.now())
            .select_related("offering__place", "offering__service", "person", "application")
            .order_by("starts_at", "pk")
        )
        for appointment in affected:
            page = free_page(appointment.offering, start=timezone.localdate(ends_at))
            free = next((t for day in page.days for t in day.times if t.starts_at >= ends_at), None)
            if free is None:
                appointment.status = Status.CANCELLED
                appointment.cancel_reason = closure.reason_en
                appointment.finished_at = timezone.now()
                appointment.save(update_fields=["status", "cancel_reason", "finished_at"])
                _seat_release(appointment.slot_id)
                _tell(
                    appointment,
                    Notification.Event.APPOINTMENT_CANCELLED,
                    dedupe=f"appointment-cancelled-{appointment.pk}",
                    context={"reason": _closure_reason(closure, appointment.person)},
                )
                cancelled += 1
                continue
            new = _move(appointment, free.starts_at, free.ends_at)
            _tell(
                new,
                Notification.Event.APPOINTMENT_MOVED,
                dedupe=f"appointment-moved-{appointment.pk}",
                context={
                    "reason": _closure_reason(closure, appointment.person),
                    "was": timezone.localtime(appointment.starts_at),
                },
            )
            moved += 1
    return closure, moved, cancelled


# --- The daily sweep -------------------------------------------------------------------------


def reminders_send(*, now: datetime | None = None, limit: int = 500) -> int:
    """Reminds everyone whose appointment is tomorrow (local day), once each."""
    now = now or timezone.now()
    tomorrow = timezone.localdate(now) + timedelta(days=1)
    sent = 0
    with transaction.atomic():
        due = list(
            Appointment.objects.select_for_update(of=("self",), skip_locked=True)
            .filter(status=Status.BOOKED, reminded_at__isnull=True)
            .filter(starts_at__gte=start_of_day(tomorrow), starts_at__lt=end_of_day(tomorrow))
            .select_related("offering__place", "offering__service", "person", "application")
            .order_by("starts_at")[:limit]
        )
        for appointment in due:
            _tell(appointment, Notification.Event.APPOINTMENT_REMINDER, dedupe=f"appointment-reminder-{appointment.pk}")
            appointment.reminded_at = now
            appointment.save(update_fields=["reminded_at"])
            sent += 1
    return sent


def orphans_release(*, now: datetime | None = None) -> int:
    """Gives back the seats of step bookings whose step ended otherwise (the application was
    withdrawn or decided): nobody will come for them."""
    now = now or timezone.now()
    released = 0
    with transaction.atomic():
        orphans = (
            Appointment.objects.select_for_update(of=("self",), skip_locked=True)
            .filter(status=Status.BOOKED, work_item__isnull=False, starts_at__gt=now)
            .exclude(work_item__status__in=WorkItem.LIVE)
        )
        for appointment in orphans:
            appointment.status = Status.CANCELLED
            appointment.cancel_reason = "step ended"
            appointment.finished_at = now
            appointment.save(update_fields=["status", "cancel_reason", "finished_at"])
            _seat_release(appointment.slot_id)
            released += 1
    return released
