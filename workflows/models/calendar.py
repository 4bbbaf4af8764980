"""The working-day calendar the statutory clock counts on (docs/deadlines.md).

Monday to Friday are working days, except:
- `CalendarDay` rows: public holidays and make-up working days (调休). The official ones of
  mainland China are loaded from the `chinese-calendar` package (`manage.py load_holidays`);
  an administrator adds local ones, each with a reason;
- `ClockStop` rows: periods in which every statutory clock stands still (a disaster, a
  system outage ordered by the government), each with a reason.

`CalendarYear` says which years the calendar is complete for. The clock refuses to compute a
deadline that reaches a year without one rather than count weekends only.
"""

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils.translation import gettext_lazy as _

from accounts.models import User


class CalendarSource(models.TextChoices):
    OFFICIAL = "official", _("State Council notice (chinese-calendar package)")
    LOCAL = "local", _("Entered by an administrator")


class CalendarDay(models.Model):
    """An exception to the Monday–Friday working week: a public holiday or a make-up working day."""

    class Kind(models.TextChoices):
        HOLIDAY = "holiday", _("Public holiday")
        WORKDAY = "workday", _("Make-up working day")

    date = models.DateField(
        _("date"), unique=True, error_messages={"unique": _("This date is already in the calendar.")}
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    name = models.CharField(_("reason"), max_length=100, help_text=_("For example: Spring Festival, city holiday."))
    source = models.CharField(max_length=20, choices=CalendarSource.choices, default=CalendarSource.LOCAL)

    class Meta:
        ordering = ["date"]
        verbose_name = _("calendar day")
        verbose_name_plural = _("calendar days")

    def __str__(self) -> str:
        return f"{self.date.isoformat()} {self.get_kind_display()}: {self.name}"


class CalendarYear(models.Model):
    """A year whose holidays and make-up working days are all in the calendar."""

    year = models.PositiveSmallIntegerField(
        _("year"), unique=True, error_messages={"unique": _("This year is already marked complete.")}
    )
    source = models.CharField(_("source"), max_length=20, choices=CalendarSource.choices, default=CalendarSource.LOCAL)
    note = models.CharField(
        _("note"),
        max_length=200,
        blank=True,
        help_text=_("Where the year's holidays come from, e.g. the notice's number."),
    )
    # Entered before the State Council's notice: deadlines are computed, and operators are
    # warned until the year is replaced by the official arrangement.
    provisional = models.BooleanField(_("provisional"), default=False)
    recorded_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["year"]
        verbose_name = _("complete calendar year")
        verbose_name_plural = _("complete calendar years")

    def __str__(self) -> str:
        return str(self.year)


class ClockStop(models.Model):
    """Days on which every statutory clock stands still, with the reason (inclusive dates)."""

    starts_on = models.DateField(_("first day"))
    ends_on = models.DateField(_("last day"))
    reason = models.CharField(_("reason"), max_length=200)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["starts_on"]
        verbose_name = _("stopped period")
        verbose_name_plural = _("stopped periods")
        constraints = [
            models.CheckConstraint(condition=models.Q(ends_on__gte=models.F("starts_on")), name="clock_stop_in_order")
        ]

    def __str__(self) -> str:
        return f"{self.starts_on.isoformat()}–{self.ends_on.isoformat()}: {self.reason}"

    def clean(self) -> None:
        if self.starts_on and self.ends_on:
            if self.ends_on < self.starts_on:
                raise ValidationError({"ends_on": _("The last day must be on or after the first day.")})
            overlapping = ClockStop.objects.filter(starts_on__lte=self.ends_on, ends_on__gte=self.starts_on)
            if self.pk:
                overlapping = overlapping.exclude(pk=self.pk)
            other = overlapping.first()
            if other is not None:
                raise ValidationError(
                    _("This period overlaps another stopped period (%(period)s). Change or extend that one instead.")
                    % {"period": str(other)}
                )


# --- Announcing changes (the clock keeps the calendar in each process's memory) --------------

CALENDAR_VERSION_KEY = "workflows.calendar.version"
_local_changes = 0


def calendar_version() -> tuple[object, int]:
    """What the calendar's copy in memory is checked against: the version all processes share
    (moved when a change commits) and this process's own count of changes (moved at once)."""
    return cache.get(CALENDAR_VERSION_KEY), _local_changes


def calendar_local_changes() -> int:
    """How many changes this process has announced (no round trip)."""
    return _local_changes


def calendar_changed() -> None:
    """Announces that holidays, make-up days, stopped periods or complete years changed. Saves
    and deletes of the three models call it (signals, `workflows.apps`); bulk writes call it
    themselves, as they send no signals."""
    global _local_changes
    _local_changes += 1

    def bump() -> None:
        global _local_changes
        _local_changes += 1
        if cache.add(CALENDAR_VERSION_KEY, 1, timeout=None):
            return
        try:
            cache.incr(CALENDAR_VERSION_KEY)
        except ValueError:  # evicted between add and incr
            cache.set(CALENDAR_VERSION_KEY, 1, timeout=None)

    transaction.on_commit(bump)


def on_calendar_row_change(**kwargs: object) -> None:
    """Signal receiver for CalendarDay, CalendarYear and ClockStop saves and deletes."""
    calendar_changed()
