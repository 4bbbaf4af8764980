"""Mandates (power of attorney): a person lets another person act for them.

The principal grants it; it takes effect once the delegate accepts it, from `valid_from` to
`valid_until` (local days, both included), for every service or for chosen services and life
events; `may_submit` says whether the delegate may submit, answer corrections and withdraw, or
only prepare drafts. Either side can end it; an ended mandate is kept (who ended it, and when).
"""

import datetime
from typing import Any

from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from services.models import LifeEvent, Service


class MandateQuerySet(models.QuerySet["Mandate"]):
    def active(self, *, on: datetime.date | None = None) -> "MandateQuerySet":
        """Accepted, not ended, and valid on `on` (today by default)."""
        day = on or timezone.localdate()
        return self.filter(accepted_at__isnull=False, ended_at__isnull=True, valid_from__lte=day, valid_until__gte=day)

    def covering(self, service: Any) -> "MandateQuerySet":
        """Mandates whose scope includes `service`: every service, the service itself, or a life
        event it belongs to. `service` is a Service, its id, or an expression valid inside the
        sub-selects on the mandate's scope tables (e.g. ``OuterRef(OuterRef("service"))`` when
        this queryset is itself a sub-select of applications)."""
        return self.filter(
            Q(all_services=True)
            | Exists(Mandate.services.through.objects.filter(mandate=OuterRef("pk"), service=service))
            | Exists(
                Mandate.life_events.through.objects.filter(mandate=OuterRef("pk"), lifeevent__entries__service=service)
            )
        )


class Mandate(models.Model):
    """One person's power of attorney for another (see the module's docstring)."""

    principal = models.ForeignKey(User, on_delete=models.PROTECT, related_name="mandates_given")
    delegate = models.ForeignKey(User, on_delete=models.PROTECT, related_name="mandates_received")
    all_services = models.BooleanField(_("every service"), default=False)
    services = models.ManyToManyField(Service, blank=True, related_name="+")
    life_events = models.ManyToManyField(LifeEvent, blank=True, related_name="+")
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"))
    may_submit = models.BooleanField(_("may submit"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")

    objects = MandateQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=~Q(principal=models.F("delegate")), name="mandate_not_to_oneself"),
            models.CheckConstraint(condition=Q(valid_from__lte=models.F("valid_until")), name="mandate_valid_period"),
        ]
        indexes = [models.Index(fields=["delegate", "principal"])]
        verbose_name = _("mandate")
        verbose_name_plural = _("mandates")

    def __str__(self) -> str:
        return f"{self.principal} → {self.delegate}"

    class State(models.TextChoices):
        WAITING = "waiting", _("Waiting for acceptance")
        ACTIVE = "active", _("Active")
        NOT_YET = "not_yet", _("Not valid yet")
        EXPIRED = "expired", _("Expired")
        ENDED = "ended", _("Ended")

    @property
    def state(self) -> str:
        today = timezone.localdate()
        if self.ended_at is not None:
            return self.State.ENDED
        if self.valid_until < today:
            return self.State.EXPIRED
        if self.accepted_at is None:
            return self.State.WAITING
        if self.valid_from > today:
            return self.State.NOT_YET
        return self.State.ACTIVE

    @property
    def is_active(self) -> bool:
        return self.state == self.State.ACTIVE

    def get_state_display(self) -> str:
        return str(self.State(self.state).label)
