"""Appointments: places with opening hours, what each service offers there, slots and bookings.

A place (a counter or a hall) belongs to one department and opens on the working days of the
working-day calendar (workflows.clock), at its opening hours. An offering says which service
books there, how long a slot lasts and how many people one slot takes. Slots exist as rows only
once someone books one (`Slot.booked` counts the active bookings); the database refuses more
bookings than the slot's capacity (`slot_never_overbooked`), and booking is a conditional
update `… WHERE booked < capacity` (appointments/actions.py).
"""

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Department, User
from lib.text import in_language
from services.models import Service
from workflows.models import Application, WorkItem


class Place(models.Model):
    class Kind(models.TextChoices):
        COUNTER = "counter", _("Counter")
        HALL = "hall", _("Hall")

    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="places")
    code = models.SlugField(_("code"), max_length=50, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.COUNTER)
    name_en = models.CharField(_("name (English)"), max_length=200)
    name_zh = models.CharField(_("name (Chinese)"), max_length=200, blank=True)
    address_en = models.CharField(_("address (English)"), max_length=300, blank=True)
    address_zh = models.CharField(_("address (Chinese)"), max_length=300, blank=True)
    active = models.BooleanField(_("taking bookings"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("place")
        verbose_name_plural = _("places")

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return in_language(self.name_en, self.name_zh)

    @property
    def address(self) -> str:
        return in_language(self.address_en, self.address_zh)


class OpeningHours(models.Model):
    """One opening period of a place on one weekday (several a day: a lunch break). A place opens
    only on working days of the calendar; a make-up working day on a weekend has Monday's hours."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, _("Monday")
        TUESDAY = 1, _("Tuesday")
        WEDNESDAY = 2, _("Wednesday")
        THURSDAY = 3, _("Thursday")
        FRIDAY = 4, _("Friday")
        SATURDAY = 5, _("Saturday")
        SUNDAY = 6, _("Sunday")

    place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="hours")
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    opens = models.TimeField(_("opens"))
    closes = models.TimeField(_("closes"))

    class Meta:
        ordering = ["weekday", "opens"]
        verbose_name = _("opening hours")
        verbose_name_plural = _("opening hours")
        constraints = [models.CheckConstraint(condition=models.Q(closes__gt=models.F("opens")), name="hours_in_order")]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens:%H:%M}–{self.closes:%H:%M}"

    def clean(self) -> None:
        if self.opens and self.closes and self.closes <= self.opens:
            raise ValidationError({"closes": _("The closing time must be after the opening time.")})


class Closure(models.Model):
    """A place closed for a while (a repair, an event): its bookings then are moved or cancelled."""

    place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="closures")
    starts_at = models.DateTimeField(_("closed from"))
    ends_at = models.DateTimeField(_("closed until"))
    reason_en = models.CharField(_("reason (English)"), max_length=200)
    reason_zh = models.CharField(_("reason (Chinese)"), max_length=200, blank=True)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["starts_at"]
        verbose_name = _("closure")
        verbose_name_plural = _("closures")
        constraints = [
            models.CheckConstraint(condition=models.Q(ends_at__gt=models.F("starts_at")), name="closure_in_order")
        ]

    def __str__(self) -> str:
        return f"{self.place}: {self.reason}"

    @property
    def reason(self) -> str:
        return in_language(self.reason_en, self.reason_zh)

    def clean(self) -> None:
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": _("The end must be after the start.")})


class Offering(models.Model):
    """A service books appointments at a place: slot length and how many people one slot takes."""

    place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="offerings")
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="appointment_offerings")
    slot_minutes = models.PositiveSmallIntegerField(_("slot length (minutes)"), default=30)
    capacity = models.PositiveSmallIntegerField(_("people per slot"), default=1)
    days_ahead = models.PositiveSmallIntegerField(_("bookable days ahead"), default=30)
    active = models.BooleanField(_("taking bookings"), default=True)

    class Meta:
        ordering = ["place", "service"]
        verbose_name = _("appointment offering")
        verbose_name_plural = _("appointment offerings")
        constraints = [
            models.UniqueConstraint(fields=["place", "service"], name="offering_one_per_place_service"),
            models.CheckConstraint(condition=models.Q(slot_minutes__gte=5), name="offering_slot_at_least_5"),
            models.CheckConstraint(condition=models.Q(capacity__gte=1), name="offering_capacity_at_least_1"),
        ]

    def __str__(self) -> str:
        return f"{self.service} @ {self.place}"


class Slot(models.Model):
    """A bookable time of an offering that somebody has booked at least once."""

    offering = models.ForeignKey(Offering, on_delete=models.CASCADE, related_name="slots")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    capacity = models.PositiveSmallIntegerField()
    booked = models.PositiveSmallIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["offering", "starts_at"], name="slot_unique_start"),
            # The last line of defence: whatever the code does, a slot never holds more people.
            models.CheckConstraint(condition=models.Q(booked__lte=models.F("capacity")), name="slot_never_overbooked"),
        ]

    def __str__(self) -> str:
        return f"{self.offering_id}@{self.starts_at.isoformat()} {self.booked}/{self.capacity}"


class Appointment(models.Model):
    """One person's booking of one slot; a reschedule or a move makes a new one."""

    class Status(models.TextChoices):
        BOOKED = "booked", _("Booked")
        CHECKED_IN = "checked_in", _("Checked in")
        DONE = "done", _("Done")
        NO_SHOW = "no_show", _("Did not come")
        CANCELLED = "cancelled", _("Cancelled")
        RESCHEDULED = "rescheduled", _("Moved to another time")

    ACTIVE = (Status.BOOKED, Status.CHECKED_IN)

    slot = models.ForeignKey(Slot, on_delete=models.PROTECT, related_name="appointments")
    offering = models.ForeignKey(Offering, on_delete=models.PROTECT, related_name="appointments")
    person = models.ForeignKey(User, on_delete=models.PROTECT, related_name="appointments")
    # A booking for a route step (an inspection); empty for a counter visit booked from the service page.
    application = models.ForeignKey(
        Application, on_delete=models.PROTECT, null=True, blank=True, related_name="appointments"
    )
    work_item = models.ForeignKey(WorkItem, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.BOOKED)
    replaced_by = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    cancel_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    checked_in_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    finished_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    reminded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["starts_at", "id"]
        constraints = [
            # One active booking per route step, and per person and service for counter visits.
            models.UniqueConstraint(
                fields=["work_item"],
                condition=models.Q(status__in=["booked", "checked_in"], work_item__isnull=False),
                name="appointment_one_active_per_step",
            ),
            models.UniqueConstraint(
                fields=["person", "offering"],
                condition=models.Q(status__in=["booked", "checked_in"], work_item__isnull=True),
                name="appointment_one_active_per_visit",
            ),
        ]
        indexes = [
            models.Index(fields=["offering", "starts_at"], name="appointment_day_list"),
            models.Index(
                fields=["starts_at"],
                condition=models.Q(status="booked", reminded_at__isnull=True),
                name="appointment_to_remind",
            ),
        ]

    def __str__(self) -> str:
        return f"appointment {self.pk} {self.starts_at.isoformat()} {self.status}"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE
