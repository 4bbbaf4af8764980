"""Proactive offers (免申即享): what a rule offered one person after one event, and the
append-only record of everything that happened to it.

One Offer per (triggering event, offered service): the rule's task may run twice (a redelivered
message, the relay) and two rules may offer the same service, yet the person is offered it once,
and an offer they declined is not made again for the same event. A rule that does not make an
offer (the person is not eligible, already applied, or the state does not know an answer it
needs) still writes its row, as `not_made` with the reason, so the decision is on record.
"""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.models import User
from services.models import OfferRule, Service, ServiceVersion
from workflows.models.applications import Application, ApplicationGroup
from workflows.models.audit import AppendOnlyModel, ApplicationEvent


class OfferQuerySet(models.QuerySet):
    def shown_to(self, person: User) -> "OfferQuerySet":
        """The person's offers they can act on before their deadline: open ones, and services
        granted without a request (they may opt out until then)."""
        today = timezone.localdate()
        return (
            self.filter(person=person)
            .filter(models.Q(status__in=(Offer.Status.OFFERED, Offer.Status.GRANTED), respond_by__gte=today))
            .select_related("service", "trigger_application__service", "group")
            .order_by("respond_by", "pk")
        )


class Offer(models.Model):
    class Status(models.TextChoices):
        NOT_MADE = "not_made", _("Not offered")
        OFFERED = "offered", _("Offered")
        ACCEPTED = "accepted", _("Accepted")
        DECLINED = "declined", pgettext_lazy("offer", "Declined")
        GRANTED = "granted", _("Granted without a request")
        OPTED_OUT = "opted_out", _("Opted out")

    person = models.ForeignKey(User, on_delete=models.PROTECT, related_name="offers")
    rule = models.ForeignKey(OfferRule, on_delete=models.PROTECT, related_name="+")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="+")
    # The version the prefill was built against; accepting applies to the version current then.
    version = models.ForeignKey(ServiceVersion, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    # No database constraint: events are partitioned by month on PostgreSQL (keyed by id and
    # time), and they are never deleted (refused by trigger), so the reference cannot dangle.
    trigger_event = models.ForeignKey(
        ApplicationEvent, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    trigger_application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="offers_made")
    status = models.CharField(max_length=20, choices=Status.choices)
    reason = models.TextField(blank=True)  # why it was not made (in English, for the record)
    data = models.JSONField(default=dict, blank=True)  # the prefilled answers, by element key
    # {document type code: vault document id} attached by reference on acceptance.
    documents = models.JSONField(default=dict, blank=True)
    # The last local day to accept (or, granted without a request, to opt out on this page).
    respond_by = models.DateField(null=True, blank=True)
    # The submission made on acceptance (or, granted without a request, for the person).
    group = models.ForeignKey(ApplicationGroup, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    objects = OfferQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["trigger_event", "service"], name="offer_one_per_event_and_service")
        ]
        indexes = [models.Index(fields=["person", "status"]), models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return f"{self.service} for {self.person} ({self.status})"

    @property
    def is_open(self) -> bool:
        return (
            self.status == self.Status.OFFERED
            and self.respond_by is not None
            and self.respond_by >= timezone.localdate()
        )


class OfferRecord(AppendOnlyModel):
    """Append-only: each rule's decision, each offer, acceptance, refusal, grant and opt-out."""

    class Kind(models.TextChoices):
        NOT_MADE = "not_made", _("No offer made")
        MADE = "made", _("Offer made")
        ACCEPTED = "accepted", _("Offer accepted")
        DECLINED = "declined", _("Offer declined")
        GRANTED = "granted", _("Granted without a request")
        OPTED_OUT = "opted_out", _("Opted out of a service granted without a request")

    offer = models.ForeignKey(Offer, on_delete=models.PROTECT, related_name="records")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    actor = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    reason = models.TextField(blank=True)
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
