"""Data flowing inside a life event: a sibling's approval feeds the applications waiting for it.

At submission, an application whose route has steps that `waits_for` a sibling service of the
same life event (one that `produces` data) records that sibling in `waiting_for`; those steps do
not open meanwhile (`routing.advance_locked`, no query). When the sibling finishes, its
`application_finish` sends `workflows.bundle_deliver` through the outbox, and here:

- approved: the values it produces are written into each waiting application (only the elements
  that application's form has), the wait ends, an event on its timeline says what came from
  where (its clerk sees it), and its route moves on;
- refused or withdrawn: the waiting application cannot go ahead without what it waited for, so
  it is stopped (finished as withdrawn, with the reason on its timeline and in the applicant's
  notifications; fees refunded as on a withdrawal). It never hangs.

A value the applicant corrected on the waiting application meanwhile (a correction sent for a
sibling reaches it while it waits, and not always the producer: one finished meanwhile, or one a
delegate may not act on) is not overwritten by the producer's older one: it is kept, and the
event names it so the clerk sees the two differ.

Idempotent: a second delivery finds no application still waiting for that sibling.
"""

import logging
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from services.models import FormField
from workflows.engine import routing
from workflows.engine.events import event_record
from workflows.models import Application, ApplicationEvent
from workflows.outbox import outbox_confirm

logger = logging.getLogger("workflows.engine")

FINISHED = (Application.Status.APPROVED, Application.Status.REJECTED, Application.Status.WITHDRAWN)
LIVE = (Application.Status.SUBMITTED, Application.Status.IN_PROGRESS, Application.Status.AWAITING_APPLICANT)


def bundle_deliver(*, application_id: int, outbox_id: int | None = None) -> list[str]:
    """Feeds or stops the siblings waiting for application `application_id` (finished); the
    numbers of those it changed."""
    producer = Application.objects.select_related("service", "service_version").filter(pk=application_id).first()
    if producer is None or producer.status not in FINISHED:
        outbox_confirm(outbox_id)
        return []
    sibling_ids = list(
        Application.objects.filter(group_id=producer.group_id).exclude(pk=producer.pk).values_list("pk", flat=True)
    )
    changed = []
    for sibling_id in sorted(sibling_ids):
        with transaction.atomic():
            application = routing.application_lock(sibling_id)
            if producer.service.code not in (application.waiting_for or []):
                continue
            if application.status not in LIVE:
                continue
            if producer.status == Application.Status.APPROVED:
                _receive(application, producer)
            else:
                _stop(application, producer)
            changed.append(application.number)
    outbox_confirm(outbox_id)
    return changed


def _corrected_keys(application: Application) -> set[str]:
    """The answers the applicant corrected on this application: in answer to its own request or
    to a sibling's."""
    kinds = (ApplicationEvent.Kind.CORRECTION_SUBMITTED, ApplicationEvent.Kind.CORRECTED_IN_BUNDLE)
    payloads = ApplicationEvent.objects.filter(application=application, kind__in=kinds).values_list(
        "payload", flat=True
    )
    return {key for payload in payloads for key in (payload or {}).get("fields", [])}


def _receive(application: Application, producer: Application) -> None:
    keys = set(
        FormField.objects.filter(version_id=application.service_version_id).values_list("element__key", flat=True)
    )
    values = {
        key: producer.data[key]
        for key in producer.service_version.produces or []
        if key in keys and (producer.data or {}).get(key) not in (None, "", [])
    }
    current = application.data or {}
    differing = {key for key, value in values.items() if key in current and current[key] != value}
    # Only when a value would change is the history read (no query otherwise).
    kept = sorted(differing & _corrected_keys(application)) if differing else []
    for key in kept:
        del values[key]
    from_status = application.status
    application.data = {**current, **values}
    application.waiting_for = [code for code in application.waiting_for if code != producer.service.code]
    application.save(update_fields=["data", "waiting_for", "updated_at"])
    reason = _("%(service)s (%(number)s) was approved; its data was added to this application: %(elements)s.") % {
        "service": producer.service.name,
        "number": producer.number,
        "elements": ", ".join(sorted(values)) or _("nothing this application asks"),
    }
    payload: dict[str, Any] = {"from": producer.number, "service": producer.service.code, "elements": sorted(values)}
    if kept:
        reason += " " + _(
            "Kept the applicant's corrected answer, which differs from the approved one, for: %(elements)s."
        ) % {"elements": ", ".join(kept)}
        payload["kept"] = kept
    event_record(
        application=application,
        kind=ApplicationEvent.Kind.BUNDLE_DATA_RECEIVED,
        from_status=from_status,
        to_status=application.status,
        reason=reason,
        payload=payload,
    )
    logger.info("bundle data application=%s from=%s elements=%s", application.number, producer.number, sorted(values))
    routing.advance_locked(application)


def _stop(application: Application, producer: Application) -> None:
    outcome = _("refused") if producer.status == Application.Status.REJECTED else _("withdrawn")
    routing.application_finish(
        application,
        Application.Status.WITHDRAWN,
        kind=ApplicationEvent.Kind.APPLICATION_BUNDLE_STOPPED,
        reason=_(
            "Stopped: it needs %(service)s (%(number)s), which was %(outcome)s. Nothing else is needed from you "
            "for it; fees paid for it are refunded as for a withdrawal. You can apply again once you have it."
        )
        % {"service": producer.service.name, "number": producer.number, "outcome": outcome},
        payload={"because_of": producer.number, "service": producer.service.code, "outcome": producer.status},
    )
    logger.info("bundle stop application=%s because=%s %s", application.number, producer.number, producer.status)
