"""Writes for proactive offers: make the offers of an event, accept, decline, opt out.

Each action runs in one transaction. An offer's own row is locked (`select_for_update`) to
accept, decline or opt out, so a double click or two tabs are served one after the other and the
second finds the first's outcome. Every decision writes an OfferRecord (append-only).
"""

import datetime
import logging
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Prefetch, Q
from django.http import Http404
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.assurance import Level
from accounts.models import User
from documents.selectors import reusable_documents
from lib.refusals import Refused
from lib.text import join_names
from services.elements import validate_value
from services.eligibility import judge
from services.models import OfferRule, OfferRuleService, ServiceVersion
from services.selectors import current_version
from workflows.apply.actions import ApplyError, SubmitOutcome, draft_attach_document, draft_start, group_submit
from workflows.apply.selectors import known_values, merged_form, missing_items, verified_values
from workflows.engine.actions import application_withdraw
from workflows.models import Application, ApplicationEvent, Notification, Offer, OfferRecord
from workflows.notifications.notify import notify
from workflows.outbox import outbox_confirm

logger = logging.getLogger(__name__)

# Applications that do not count as "already applied" for an offered service.
NOT_APPLYING = (Application.Status.REJECTED, Application.Status.WITHDRAWN)


class OfferClosed(Refused):
    """The offer can no longer be accepted, declined or opted out of (and nothing changed)."""


def offer_link(offer: Offer) -> str:
    return reverse("workflows:offer", args=[offer.pk])


# --- Making the offers of an event ------------------------------------------------------------


def event_offers(*, event_id: int, outbox_id: int | None = None) -> list[Offer]:
    """What every active rule for this event's service offers its applicant, in one transaction
    that also confirms the outbox row. Idempotent: an (event, service) already decided, offered
    or not, is left as it is. Returns the offers written now."""
    event = ApplicationEvent.objects.select_related(
        "application__applicant", "application__service", "application__group"
    ).get(pk=event_id)
    application = event.application
    rules = (
        OfferRule.objects.filter(active=True, trigger_service_id=application.service_id, trigger_event=event.kind)
        .prefetch_related(Prefetch("entries", queryset=OfferRuleService.objects.select_related("service")))
        .order_by("code")
    )
    written: list[Offer] = []
    with transaction.atomic():
        for rule in rules:
            for entry in rule.entries.all():
                offer = _offer_decide(event=event, rule=rule, entry=entry)
                if offer is not None:
                    written.append(offer)
        outbox_confirm(outbox_id)
    return written


def _offer_decide(*, event: ApplicationEvent, rule: OfferRule, entry: OfferRuleService) -> Offer | None:
    application = event.application
    if Offer.objects.filter(trigger_event=event, service=entry.service).exists():
        return None  # decided already: by an earlier run of this task, or by another rule
    version = current_version(entry.service)
    decision: dict[str, Any] = {"version": version}
    with translation.override("en"):  # the record's reason is written once, in English
        reason = _reason_not_to_offer(application=application, version=version)
        if not reason and version is not None:
            data, documents, reason = _prefill(person=application.applicant, application=application, version=version)
            decision.update(data=data, documents=documents)
    status = Offer.Status.NOT_MADE if reason else Offer.Status.OFFERED
    try:
        with transaction.atomic():
            offer = Offer.objects.create(
                person=application.applicant,
                rule=rule,
                service=entry.service,
                trigger_event=event,
                trigger_application=application,
                status=status,
                reason=reason,
                respond_by=timezone.localdate() + datetime.timedelta(days=rule.days_to_respond),
                **decision,
            )
    except IntegrityError:
        return None  # another run of this task decided it at the same moment
    if reason:
        _record(offer, OfferRecord.Kind.NOT_MADE, reason=reason, payload={"rule": rule.code})
        logger.info("offer not made rule=%s service=%s event=%s: %s", rule.code, entry.service.code, event.pk, reason)
        return offer
    if entry.grant_without_request:
        _grant(offer)
    else:
        _record(offer, OfferRecord.Kind.MADE, payload={"rule": rule.code, "respond_by": str(offer.respond_by)})
        notify(
            user=offer.person,
            event=Notification.Event.OFFER_MADE,
            context={
                "offered": offer.service,
                "because": application.service,
                "trigger_number": application.number,
                "respond_by": offer.respond_by,
            },
            link=offer_link(offer),
            savepoint=False,
            dedupe_key=f"offer:{offer.pk}",
        )
    return offer


def _reason_not_to_offer(*, application: Application, version: ServiceVersion | None) -> str:
    if version is None:
        return "The service cannot be applied for online at the moment."
    if application.group.organisation_id is not None:
        return "The application that set the rule off was made for an organisation, not for the person."
    # Applied already: an application still open, or one made since (a life event's bundle
    # submits them together). One approved before is for an earlier event (an older child).
    already = (
        Application.objects.filter(applicant_id=application.applicant_id, service_id=version.service_id)
        .filter(~Q(status__in=Application.FINISHED) | Q(submitted_at__gte=application.submitted_at))
        .exclude(status__in=NOT_APPLYING)
        .values_list("number", flat=True)
        .first()
    )
    if already:
        return f"The person has already applied for this service ({already})."
    return ""


def _clean(element: Any, value: Any) -> Any:
    if value in (None, "", []):
        return None
    try:
        return validate_value(element, value)
    except ValidationError:
        return None


def _prefill(
    *, person: User, application: Application, version: ServiceVersion
) -> tuple[dict[str, Any], dict[str, int], str]:
    """The answers and vault documents of a one-click application, and why there is none (or "").

    Each answer comes from the verified profile, else the triggering application, else an earlier
    approved application; identity elements only ever from the verified profile. The person must
    be eligible by the version's rules on these answers, and nothing required may be missing."""
    form = merged_form([version])
    keys = [spec.key for spec in form.fields]
    verified = verified_values(user=person, keys=keys)
    known = known_values(user=person, keys=keys, verified=verified)
    data: dict[str, Any] = {}
    for spec in form.fields:
        sources: list[Any] = [verified.get(spec.key)]
        if not spec.element.bound:
            earlier = known.get(spec.key)
            sources += [(application.data or {}).get(spec.key), earlier.value if earlier else None]
        for raw in sources:
            value = _clean(spec.element, raw)
            if value is not None:
                data[spec.key] = value
                break
    shown = {spec.key for spec in form.shown_fields(data)}
    data = {key: value for key, value in data.items() if key in shown}
    verdict = judge([version], data)[0]
    if not verdict.eligible:
        return {}, {}, "Not eligible: " + " ".join(f"{rule.reason} ({rule.rule_text})" for rule in verdict.failed)
    documents: dict[str, int] = {}
    unknown = [item.label for item in missing_items(form=form, data=data, attachments={}) if item.kind == "field"]
    for material in form.shown_materials(data):
        found = reusable_documents(user=person, document_type=material.document_type).first()
        if found is not None:
            documents[material.code] = found.pk
        elif material.required(data):
            unknown.append(material.document_type.name)
    if unknown:
        return {}, {}, "The state does not know everything it asks: " + join_names(unknown) + "."
    return data, documents, ""


def _record(
    offer: Offer, kind: str, *, actor: User | None = None, reason: str = "", payload: dict | None = None
) -> None:
    OfferRecord.objects.create(offer=offer, kind=kind, actor=actor, reason=reason, payload=payload or {})


def _submit(offer: Offer, *, assurance: Level, actor: User | None) -> SubmitOutcome:
    """The offer's application through the normal submission: a draft of the service's current
    version with the offer's answers and documents, submitted with the offer's own key (a second
    call answers with the first submission)."""
    group = draft_start(applicant=offer.person, service=offer.service)
    data = {**group.data, **offer.data}
    if data != group.data:
        group.data = data
        # Revision 0: prefilled from what the state knew (the dashboard's once-only figures).
        group.field_revisions = {**dict.fromkeys(data, 0), **group.field_revisions}
        group.save(update_fields=["data", "field_revisions", "updated_at"])
    for code, document_id in offer.documents.items():
        draft_attach_document(applicant=offer.person, group_id=group.pk, document_type=code, document_id=document_id)
    return group_submit(
        applicant=offer.person,
        group_id=group.pk,
        idempotency_key=f"offer-{offer.pk}",
        assurance=assurance,
        actor=actor,
    )


def _numbers(outcome: SubmitOutcome) -> list[str]:
    return [application.number for application in outcome.applications]


def _grant(offer: Offer) -> None:
    """Granted without a request: applied for on the person's behalf (the state acts on what it
    has verified, so no sign-in level is asked), and the person told, with a way to opt out."""
    try:
        with transaction.atomic():
            outcome = _submit(offer, assurance=Level.HIGH, actor=None)
    except (ApplyError, Http404) as refused:
        with translation.override("en"):
            reason = f"Could not be granted without a request: {refused}"
        offer.status = Offer.Status.NOT_MADE
        offer.reason = reason
        offer.save(update_fields=["status", "reason"])
        _record(offer, OfferRecord.Kind.NOT_MADE, reason=reason, payload={"rule": offer.rule.code})
        return
    offer.status = Offer.Status.GRANTED
    offer.group = outcome.group
    offer.decided_at = timezone.now()
    offer.save(update_fields=["status", "group", "decided_at"])
    _record(offer, OfferRecord.Kind.GRANTED, payload={"rule": offer.rule.code, "applications": _numbers(outcome)})
    notify(
        user=offer.person,
        event=Notification.Event.OFFER_GRANTED,
        context={"offered": offer.service, "because": offer.trigger_application.service},
        application=outcome.applications[0],
        link=offer_link(offer),
        savepoint=False,
        dedupe_key=f"offer:{offer.pk}",
    )


# --- The person's answers -----------------------------------------------------------------------


def _lock(*, person: User, offer_id: int) -> Offer:
    """The person's offer, locked; anybody else's (or one never made) is Http404."""
    offer = (
        Offer.objects.select_for_update(of=("self",))
        .select_related("service", "rule", "trigger_application__service")
        .exclude(status=Offer.Status.NOT_MADE)
        .filter(pk=offer_id, person=person)
        .first()
    )
    if offer is None:
        raise Http404
    return offer


def _closed(offer: Offer) -> OfferClosed:
    messages: Mapping[str, str] = {
        Offer.Status.DECLINED: _("You declined this offer. You can still apply in the usual way."),
        Offer.Status.GRANTED: _("This service was granted to you without a request; there is nothing to accept."),
        Offer.Status.OPTED_OUT: _("You opted out of this service."),
        Offer.Status.ACCEPTED: _("You accepted this offer: your application is on its way."),
    }
    return OfferClosed(messages.get(offer.status, _("This offer can no longer be answered.")))


def _refuse_if_ended(offer: Offer) -> None:
    if offer.respond_by is not None and offer.respond_by < timezone.localdate():
        raise OfferClosed(
            _("This offer ended on %(date)s. You can still apply for the service in the usual way.")
            % {"date": offer.respond_by.isoformat()}
        )


def offer_accept(*, person: User, offer_id: int, assurance: Level) -> Offer:
    """One confirmation: the offer's application is submitted. Accepting again (a double click,
    a second tab, the same moment) answers with the same application. Raises OfferClosed, an
    ApplyError of the submission (nothing is kept then), Http404 for anybody else's offer."""
    with transaction.atomic():
        offer = _lock(person=person, offer_id=offer_id)
        if offer.status == Offer.Status.ACCEPTED:
            return offer
        if offer.status != Offer.Status.OFFERED:
            raise _closed(offer)
        _refuse_if_ended(offer)
        outcome = _submit(offer, assurance=assurance, actor=person)
        offer.status = Offer.Status.ACCEPTED
        offer.group = outcome.group
        offer.decided_at = timezone.now()
        offer.save(update_fields=["status", "group", "decided_at"])
        _record(offer, OfferRecord.Kind.ACCEPTED, actor=person, payload={"applications": _numbers(outcome)})
    logger.info("offer accepted offer=%s applications=%s", offer.pk, ",".join(_numbers(outcome)))
    return offer


def offer_decline(*, person: User, offer_id: int) -> Offer:
    """No, thank you: recorded, and not offered again for the same event (declining twice is
    the same). Raises OfferClosed once it was accepted; Http404 for anybody else's offer."""
    with transaction.atomic():
        offer = _lock(person=person, offer_id=offer_id)
        if offer.status == Offer.Status.DECLINED:
            return offer
        if offer.status != Offer.Status.OFFERED:
            raise _closed(offer)
        offer.status = Offer.Status.DECLINED
        offer.decided_at = timezone.now()
        offer.save(update_fields=["status", "decided_at"])
        _record(offer, OfferRecord.Kind.DECLINED, actor=person)
    return offer


def offer_opt_out(*, person: User, offer_id: int) -> Offer:
    """The person does not want a service granted without a request: its applications still
    open are withdrawn, and that is recorded. Raises OfferClosed when there is nothing to opt out
    of (it was decided already); Http404 for anybody else's offer."""
    with transaction.atomic():
        offer = _lock(person=person, offer_id=offer_id)
        if offer.status == Offer.Status.OPTED_OUT:
            return offer
        if offer.status != Offer.Status.GRANTED:
            raise _closed(offer)
        open_applications = list(
            Application.objects.filter(group_id=offer.group_id).exclude(status__in=Application.FINISHED)
        )
        if not open_applications:
            raise OfferClosed(
                _("This service has already been decided, so you can no longer opt out here. Contact the department.")
            )
        for application in open_applications:
            application_withdraw(application_id=application.pk, applicant=person)
        offer.status = Offer.Status.OPTED_OUT
        offer.decided_at = timezone.now()
        offer.save(update_fields=["status", "decided_at"])
        _record(
            offer,
            OfferRecord.Kind.OPTED_OUT,
            actor=person,
            payload={"withdrawn": [a.number for a in open_applications]},
        )
    return offer
