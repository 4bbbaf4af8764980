"""The one hook the engine calls: `on_event(event)` right after it writes an ApplicationEvent.

It runs inside the transition's transaction and writes at most one outbox row, for an event
that tells someone something: nothing is built there. Once the transition commits, the task
`workflows.notifications.events_notify` runs `events_notify(event_ids=[…])`, which builds the
notifications of a batch of events in one transaction (followers, preferences, texts,
deliveries: a fixed number of statements per batch), then sends the batch's e-mails and text
messages itself, one batch per channel, without further outbox rows. A transition that rolls
back leaves no row, so nobody is told; a batch run twice, or one that died midway and is sent
again by the relay, notifies once per event and channel (every notification has a dedupe key,
every delivery is claimed once).
It maps event kinds to notifications:

==========================  =============================================================
event kind                  notification
==========================  =============================================================
routing_started             receipt → followers
correction_requested (step) correction requested → followers (message, reply-by date)
application_approved        decision → followers; rating invitation → applicant
application_rejected        decision (with reasons) → followers; rating invitation → applicant
certificate_issued, or a    certificate issued → followers
finished `issue` step
correction_reminder         correction deadline approaching → followers
deadline_warning            statutory deadline approaching → the step's clerk (or, when
                            nobody has claimed it, the department's supervisors)
step_escalated              statutory deadline passed → the department's supervisors and
                            the step's clerk
application_submitted,      acted for → the applicant, when a delegate did it under the
correction_submitted,       applicant's mandate
application_withdrawn
==========================  =============================================================

The followers are the applicant and, for an application made on behalf of an organisation,
its other representatives. A failure while building is logged and never undoes the
transition: the batch is rolled back and sent again by the outbox relay, with its backoff.

The same task is where proactive offers (免申即享) start, off the transition's path: for an
event of a service that a rule in services.OfferRule reacts to (`offer_triggers`, cached, so an
event no rule reacts to costs no query), it writes one outbox row for `workflows.offers.event_offers`
in its own transaction. Rules react only to event kinds that notify (an application approved).
"""

import logging
from collections.abc import Callable
from datetime import date, datetime

from django.db import transaction

from accounts.models import User
from accounts.selectors import department_supervisors
from documents.models import Certificate
from lib.compiled import Compiled
from services.offer_rules import offer_triggers
from workflows import clock
from workflows.models import Application, ApplicationEvent, Mandate, Notification, WorkItem
from workflows.notifications.deliveries import deliveries_send
from workflows.notifications.notify import notifications_batched, notify
from workflows.outbox import outbox_confirm, outbox_enqueue

logger = logging.getLogger(__name__)

EVENTS_NOTIFY_TASK = "workflows.notifications.events_notify"
# workflows/offers/tasks.py: makes the offers of the rules reacting to one event.
EVENT_OFFERS_TASK = "workflows.offers.event_offers"
Event = Notification.Event
Kind = ApplicationEvent.Kind


def _due_day(raw: object) -> date | None:
    """The last day a deadline stored as an ISO moment allows (a local midnight ends the day before)."""
    if isinstance(raw, str) and raw:
        try:
            return clock.due_date(datetime.fromisoformat(raw))
        except ValueError:
            return None
    return None


def _supervisors(item: WorkItem) -> list[User]:
    return list(department_supervisors(department_id=item.department_id))


def _followers(application: Application) -> list[User]:
    """Who is told about the application: its applicant and, for an application made on behalf
    of an organisation, every other active representative of it (they all follow it)."""
    followers = [application.applicant]
    organisation_id = application.group.organisation_id  # loaded with the event (events_notify)
    if organisation_id is not None:
        followers += list(
            User.objects.filter(organisations=organisation_id, is_active=True)
            .exclude(pk=application.applicant_id)
            .order_by("pk")
        )
    return followers


def _work_item_link(item: WorkItem) -> str:
    """The clerk's page of the step, when the workbench is installed; else the dashboard."""
    from django.urls import NoReverseMatch, reverse

    for name, args in (("workflows:workbench-item", [item.pk]), ("workflows:progress-supervision", [])):
        try:
            return reverse(name, args=args)
        except NoReverseMatch:
            continue
    return ""


def _track_link(application: Application) -> str:
    """The tracking page, for a person filed for at the counter who has never signed in."""
    from django.urls import NoReverseMatch, reverse

    try:
        return f"{reverse('workflows:track')}?number={application.number}"
    except NoReverseMatch:
        return ""


def _bundle(application: Application) -> list[dict[str, str]]:
    """The applications submitted together with this one (a life event's bundle), in order;
    empty when it was submitted alone (its number is then the submission's: no query)."""
    if application.group.number == application.number:
        return []
    together = list(
        Application.objects.filter(group_id=application.group_id)
        .order_by("pk")
        .values_list("number", "service__name_en", "service__name_zh")
    )
    if len(together) < 2:
        return []
    return [{"number": number, "name_en": en, "name_zh": zh or en} for number, en, zh in together]


def _receipt(event: ApplicationEvent, application: Application) -> None:
    """One receipt per submission: a bundle's applications share one, listing each of them."""
    bundle = _bundle(application)
    for user in _followers(application):
        notify(
            user=user,
            event=Event.RECEIPT,
            context={
                "due": clock.due_date(application.statutory_due_at) if application.statutory_due_at else None,
                "bundle": bundle,
            },
            application=application,
            link=_track_link(application) if user.last_login is None and not user.has_usable_password() else "",
            savepoint=False,
            dedupe_key=f"receipt:group:{application.group_id}" if bundle else f"receipt:{application.pk}",
        )


def _correction(event: ApplicationEvent, application: Application) -> None:
    item = event.work_item
    if item is None:
        return  # the application-level twin of the step's event
    for user in _followers(application):
        notify(
            user=user,
            event=Event.CORRECTION_REQUESTED,
            context={
                "message": event.reason,
                "deadline": _due_day((item.correction or {}).get("reply_by")),
                "department": item.department,
            },
            application=application,
            savepoint=False,
            dedupe_key=f"correction:{item.pk}",
        )


def _decision(event: ApplicationEvent, application: Application) -> None:
    approved = event.to_status == Application.Status.APPROVED
    for user in _followers(application):
        notify(
            user=user,
            event=Event.DECISION,
            context={
                "decision": "approved" if approved else "rejected",
                "reasons": [] if approved else list((event.payload or {}).get("reasons") or []),
            },
            application=application,
            savepoint=False,
            dedupe_key=f"decision:{application.pk}",
        )
    # Asked of the person who applied, once per submission: a bundle's when its last application
    # is decided (not after each department's decision).
    bundle = _bundle(application)
    if (
        bundle
        and Application.objects.filter(group_id=application.group_id).exclude(status__in=Application.FINISHED).exists()
    ):
        return
    key = f"rating-invitation:group:{application.group_id}" if bundle else f"rating-invitation:{application.pk}"
    notify(
        user=application.applicant,
        event=Event.RATING_INVITATION,
        context={"bundle": bundle},
        application=application,
        savepoint=False,
        dedupe_key=key,
    )


def _certificate(event: ApplicationEvent, application: Application) -> None:
    item = event.work_item
    if event.kind != "certificate_issued" and (item is None or item.kind != WorkItem.Kind.ISSUE):
        return
    certificate = (
        Certificate.objects.filter(application_number=application.number)
        .select_related("document__document_type")
        .order_by("-issued_at")
        .first()
    )
    for user in _followers(application):
        notify(
            user=user,
            event=Event.CERTIFICATE_ISSUED,
            context={
                "document": certificate.document.document_type if certificate else "",
                "verification_code": certificate.verification_code if certificate else "",
            },
            application=application,
            savepoint=False,
            dedupe_key=f"certificate:{application.pk}:{item.step_key if item else ''}",
        )


def _correction_reminder(event: ApplicationEvent, application: Application) -> None:
    item = event.work_item
    if item is None:
        return
    reply_by = (item.correction or {}).get("reply_by")
    deadline = datetime.fromisoformat(reply_by) if isinstance(reply_by, str) and reply_by else None
    for user in _followers(application):
        notify(
            user=user,
            event=Event.CORRECTION_DEADLINE,
            context={
                "deadline": _due_day(reply_by),
                "days_left": clock.working_days_left(deadline) if deadline else None,
            },
            application=application,
            savepoint=False,
            dedupe_key=f"correction-reminder:{event.pk}",
        )


def _statutory(event: ApplicationEvent, application: Application, *, overdue: bool) -> None:
    item = event.work_item
    if item is None:
        return
    recipients: list[User] = []
    if item.assignee_id:
        recipients.append(item.assignee)  # type: ignore[arg-type]
    if overdue or not recipients:
        recipients += [user for user in _supervisors(item) if user.pk != item.assignee_id]
    link = _work_item_link(item)
    for user in recipients:
        notify(
            user=user,
            event=Event.STATUTORY_DEADLINE,
            context={
                "overdue": overdue,
                "due": clock.due_date(item.statutory_due_at) if item.statutory_due_at else None,
                "days_left": clock.working_days_left(item.statutory_due_at) if item.statutory_due_at else None,
                "department": item.department,
                "step": item,  # named in the recipient's language
            },
            application=application,
            link=link,
            savepoint=False,
            dedupe_key=f"{'overdue' if overdue else 'deadline'}:{event.pk}:{user.pk}",
        )


_ACTED_FOR: dict[str, str] = {
    Kind.APPLICATION_SUBMITTED: "submitted",
    Kind.CORRECTION_SUBMITTED: "corrected",
    Kind.APPLICATION_WITHDRAWN: "withdrawn",
}


def _acted_for(event: ApplicationEvent, application: Application) -> None:
    """A delegate submitted, corrected or withdrew for the person who gave them a mandate: that
    person is told, whoever else follows the application."""
    if event.actor_id is None or event.actor_id == application.applicant_id:
        return
    if not Mandate.objects.filter(principal_id=application.applicant_id, delegate_id=event.actor_id).exists():
        return  # another representative of the organisation, or a counter clerk: told otherwise
    action = _ACTED_FOR[event.kind]
    notify(
        user=application.applicant,
        event=Event.ACTED_FOR,
        context={"delegate": event.actor.name if event.actor else "", "action": action},
        application=application,
        dedupe_key=f"acted-for:{event.pk}",
    )


HANDLERS: dict[str, Callable[[ApplicationEvent, Application], None]] = {
    Kind.APPLICATION_SUBMITTED: _acted_for,
    Kind.CORRECTION_SUBMITTED: _acted_for,
    Kind.APPLICATION_WITHDRAWN: _acted_for,
    Kind.ROUTING_STARTED: _receipt,
    Kind.CORRECTION_REQUESTED: _correction,
    Kind.APPLICATION_APPROVED: _decision,
    Kind.APPLICATION_REJECTED: _decision,
    Kind.STEP_COMPLETED: _certificate,  # only when the finished step is an `issue` step
    Kind.STEP_APPROVED: _certificate,  # likewise
    Kind.CORRECTION_REMINDER: _correction_reminder,
    Kind.DEADLINE_WARNING: lambda event, application: _statutory(event, application, overdue=False),
    Kind.STEP_ESCALATED: lambda event, application: _statutory(event, application, overdue=True),
}


# Events about a step that notify only when the step is of a kind, or only the step's own event.
ISSUE_STEP_KINDS = (Kind.STEP_COMPLETED, Kind.STEP_APPROVED)
STEP_ONLY_KINDS = (Kind.CORRECTION_REQUESTED, Kind.CORRECTION_REMINDER, Kind.DEADLINE_WARNING, Kind.STEP_ESCALATED)


def notifies(event: ApplicationEvent) -> bool:
    """Whether the event tells anyone anything (decided from the event as written: no query)."""
    if event.kind not in HANDLERS:
        return False
    if event.kind in _ACTED_FOR:
        # Told only when someone other than the applicant acted (a delegate).
        return event.actor_id not in (None, event.application.applicant_id)
    item = event.work_item
    if event.kind in ISSUE_STEP_KINDS:
        return item is not None and item.kind == WorkItem.Kind.ISSUE
    if event.kind in STEP_ONLY_KINDS:
        return item is not None
    return True


def on_event(event: ApplicationEvent) -> None:
    """Called by the engine after each event it records (inside the transition): one outbox
    row for an event that notifies, nothing otherwise."""
    if notifies(event):
        outbox_enqueue(task=EVENTS_NOTIFY_TASK, kwargs={"event_ids": [event.pk]})


_EVENT_RELATED = ("application__applicant", "application__service", "application__group", "work_item__department")
# A batch is usually the one event a transition wrote: that read is compiled once per process.
_one_event = Compiled(lambda pk: ApplicationEvent.objects.filter(pk=pk).select_related(*_EVENT_RELATED))


def _events(event_ids: list[int]) -> list[ApplicationEvent]:
    if len(event_ids) == 1:
        return _one_event.run(pk=int(event_ids[0]))
    return list(ApplicationEvent.objects.filter(pk__in=event_ids).select_related(*_EVENT_RELATED).order_by("pk"))


def events_notify(*, event_ids: list[int], outbox_id: int | None = None) -> int:
    """Builds the notifications of a batch of events, in one transaction that also confirms the
    outbox row, then sends what leaves the portal, one batch per channel. Idempotent per event
    and channel. Returns how many events notified."""
    events = _events(event_ids)
    handled = 0
    triggers = offer_triggers()
    with transaction.atomic():
        with notifications_batched() as batch:
            for event in events:
                if (event.application.service_id, event.kind) in triggers:
                    outbox_enqueue(task=EVENT_OFFERS_TASK, kwargs={"event_id": event.pk})
                handler = HANDLERS.get(event.kind)
                if handler is None:
                    continue
                try:
                    handler(event, event.application)
                except Exception:
                    logger.exception("notification for event %s (%s) failed", event.pk, event.kind)
                    raise  # the batch rolls back; the relay sends it again
                handled += 1
        outbox_confirm(outbox_id)
    # Committed: the deliveries are written claimed by this run, which alone sends them.
    phones = {user_id: preference.phone for user_id, preference in batch.preferences.items()}
    deliveries_send(deliveries=batch.outgoing, phones=phones)
    return handled
