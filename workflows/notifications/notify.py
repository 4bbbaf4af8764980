"""The notification service other parts of the portal call: `notify(...)`.

Call it inside the transaction that makes the event true (a transition, a timer firing):
it writes the Notification, one NotificationDelivery per channel the person chose, and
outbox rows for the channels that leave the portal. Nothing is sent unless that
transaction commits, and the delivery task sends each (notification, channel) once.

Texts come from templates/notifications/<language>/<event>.txt (first line: subject;
after a blank line: body) and <event>.sms.txt, in the recipient's preferred language.
"""

import json
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import User
from lib.compiled import Compiled
from workflows.models import Application, Notification, NotificationDelivery, NotificationPreference
from workflows.outbox import outbox_enqueue

DELIVER_TASK = "workflows.progress.deliver"
TEMPLATE_LANGUAGES = ("en", "zh-hans")

Channel = NotificationDelivery.Channel


class Unread:
    """Marks an argument the caller has not read from the database (None is a value: no row)."""


UNREAD = Unread()


def recipient_language(user: User) -> str:
    language = (user.preferred_language or "en").lower()
    return "zh-hans" if language.startswith("zh") else "en" if language not in TEMPLATE_LANGUAGES else language


def channels_for(user: User, preference: NotificationPreference | Unread | None = UNREAD) -> list[str]:
    """In-app always; e-mail and SMS when chosen and the person has an address or number
    (`preference`: the person's preference row when the caller has read it, None for none)."""
    if isinstance(preference, Unread):
        preference = NotificationPreference.objects.filter(user=user).first()
    wants_email = preference.email if preference else True
    wants_sms = preference.sms if preference else False
    channels: list[str] = [Channel.IN_APP]
    if wants_email and user.email:
        channels.append(Channel.EMAIL)
    if wants_sms and preference and preference.phone:
        channels.append(Channel.SMS)
    return channels


def application_path(application: Application) -> str:
    return reverse("workflows:progress-application", args=[application.number])


def absolute_url(path: str) -> str:
    if not path or path.startswith(("http://", "https://")):
        return path
    return settings.PUBLIC_BASE_URL.rstrip("/") + path


def render_texts(*, event: str, language: str, context: dict[str, Any]) -> tuple[str, str, str]:
    """(subject, body, sms text) for one event in one language."""
    with translation.override(language):
        full = render_to_string(f"notifications/{language}/{event}.txt", context).strip()
        sms = render_to_string(f"notifications/{language}/{event}.sms.txt", context).strip()
    subject, _, body = full.partition("\n")
    return subject.strip()[:250], body.strip(), " ".join(sms.split())[:500]


def _template_context(
    *, user: User, application: Application | None, context: dict[str, Any], language: str, link: str
) -> dict[str, Any]:
    values: dict[str, Any] = {"name": str(user)}
    if application is not None:
        service = application.service
        values.update(
            number=application.number,
            service=service.name_zh if language == "zh-hans" and service.name_zh else service.name_en,
        )
    for key, value in context.items():
        values[key] = _in_language(value, language)
    values["url"] = absolute_url(link)
    return values


def _in_language(value: Any, language: str) -> Any:
    """Catalogue objects (departments, services, document types) named in the recipient's language."""
    if hasattr(value, "name_en") and hasattr(value, "name_zh"):
        return value.name_zh if language == "zh-hans" and value.name_zh else value.name_en
    if hasattr(value, "label_en") and hasattr(value, "step_key"):  # a work item: its step's name
        return (value.label_zh if language == "zh-hans" else value.label_en) or value.label_en or value.step_key
    return value


def _storable(value: Any) -> Any:
    if hasattr(value, "name_en") and hasattr(value, "code"):
        return value.code
    if hasattr(value, "label_en") and hasattr(value, "step_key"):
        return value.step_key
    return value


def _compose(
    *,
    user: User,
    event: str,
    context: dict[str, Any],
    application: Application | None,
    link: str,
    dedupe_key: str | None,
    attachments: list[dict[str, str]] | None,
) -> Notification:
    """The notification, rendered in the recipient's language, not yet saved."""
    language = recipient_language(user)
    if not link and application is not None:
        link = application_path(application)
    values = _template_context(user=user, application=application, context=context, language=language, link=link)
    subject, body, sms_text = render_texts(event=event, language=language, context=values)
    stored_context = json.loads(json.dumps({k: _storable(v) for k, v in context.items()}, cls=DjangoJSONEncoder))
    return Notification(
        user=user,
        application=application,
        event=event,
        context=stored_context,
        language=language,
        subject=subject,
        body=body,
        sms_text=sms_text,
        link=link,
        dedupe_key=dedupe_key,
        attachments=attachments or [],
    )


def notify(
    *,
    user: User,
    event: str,
    context: dict[str, Any],
    application: Application | None = None,
    link: str = "",
    dedupe_key: str | None = None,
    savepoint: bool = True,
    attachments: list[dict[str, str]] | None = None,
) -> Notification:
    """Tells `user` about `event`. Idempotent per `dedupe_key` (a second call returns the first row).

    `context` holds what the template needs besides the applicant's name, the application
    number and the service name (filled in here): e.g. {"deadline": date, "reasons": [...]}.
    Pass dates as date/datetime objects, and departments or document types as model
    instances: they are named in the recipient's language. `savepoint=False` for a caller whose
    whole transaction is retried anyway (the notification task): a race on the dedupe key then
    rolls that transaction back instead of a savepoint.

    Inside `notifications_batched()` (the notification task) the notification is only recorded
    and returned unsaved: the batch writes every notification of the block at its end, with a fixed
    number of statements (see NotificationBatch).
    """
    if event not in Notification.Event.values:
        raise ValueError(f"unknown notification event {event!r}")
    batch = _current_batch.get()
    if batch is not None:
        return batch.add(
            _compose(
                user=user,
                event=event,
                context=context,
                application=application,
                link=link,
                dedupe_key=dedupe_key,
                attachments=attachments,
            )
        )
    if dedupe_key is not None:
        existing = Notification.objects.filter(user=user, dedupe_key=dedupe_key).first()
        if existing is not None:
            return existing
    notification = _compose(
        user=user,
        event=event,
        context=context,
        application=application,
        link=link,
        dedupe_key=dedupe_key,
        attachments=attachments,
    )
    try:
        # A savepoint inside the caller's transaction, unless the caller retries it whole.
        with transaction.atomic() if savepoint else nullcontext():
            notification.save(force_insert=True)
            deliveries = _deliveries(
                notification, channels_for(user), outgoing_state=NotificationDelivery.State.PENDING
            )
            NotificationDelivery.objects.bulk_create(deliveries)
            for delivery in deliveries:
                if delivery.state == NotificationDelivery.State.PENDING:
                    outbox_enqueue(task=DELIVER_TASK, kwargs={"delivery_id": delivery.pk})
    except IntegrityError:
        if dedupe_key is None or not savepoint:
            raise
        # Two callers raced on the same key: the other one's row stands.
        return Notification.objects.get(user=user, dedupe_key=dedupe_key)
    return notification


def _deliveries(notification: Notification, channels: list[str], *, outgoing_state: str) -> list[NotificationDelivery]:
    """One delivery per channel: the in-app one is complete when written (the inbox row is the
    delivery), the others start in `outgoing_state`."""
    now = timezone.now()
    rows = []
    for channel in channels:
        if channel == Channel.IN_APP:
            rows.append(
                NotificationDelivery(
                    notification=notification, channel=channel, state=NotificationDelivery.State.SENT, sent_at=now
                )
            )
        elif outgoing_state == NotificationDelivery.State.SENDING:
            # Claimed by the batch that writes it, which sends it right after its commit.
            rows.append(
                NotificationDelivery(notification=notification, channel=channel, state=outgoing_state, attempts=1)
            )
        else:
            rows.append(NotificationDelivery(notification=notification, channel=channel, state=outgoing_state))
    return rows


@dataclass
class NotificationBatch:
    """The notifications of a batch of events, written together at the end of the batch.

    Whatever the number of events and recipients, writing costs at most four statements: the
    existing dedupe keys, the recipients' preferences, the notifications and their deliveries
    (one INSERT each). The deliveries that leave the portal are written claimed ("sending",
    first attempt) and kept in `outgoing`: the caller sends them once its transaction has
    committed (deliveries.deliveries_send), so they need no outbox row and no claim of their
    own. A delivery whose send fails, or whose sender died before recording it, is retried by
    the delivery sweep, as any other.
    """

    pending: list[Notification] = field(default_factory=list)
    outgoing: list[NotificationDelivery] = field(default_factory=list)
    preferences: dict[int, NotificationPreference] = field(default_factory=dict)

    def add(self, notification: Notification) -> Notification:
        self.pending.append(notification)
        return notification

    def write(self) -> list[Notification]:
        notifications = self._fresh()
        if not notifications:
            return []
        users = {notification.user_id for notification in notifications}
        if len(users) == 1:  # the usual batch: one person (compiled read)
            found = _preference_of.run(user=next(iter(users)))
        else:
            found = list(NotificationPreference.objects.filter(user_id__in=users))
        self.preferences = {preference.user_id: preference for preference in found}
        # A race with another batch on a dedupe key fails this INSERT: the whole batch rolls
        # back and is sent again, and then finds the other one's rows.
        Notification.objects.bulk_create(notifications)
        deliveries: list[NotificationDelivery] = []
        for notification in notifications:
            channels = channels_for(notification.user, self.preferences.get(notification.user_id))
            deliveries += _deliveries(notification, channels, outgoing_state=NotificationDelivery.State.SENDING)
        NotificationDelivery.objects.bulk_create(deliveries)
        self.outgoing = [delivery for delivery in deliveries if delivery.state == NotificationDelivery.State.SENDING]
        return notifications

    def _fresh(self) -> list[Notification]:
        """The notifications not written yet: one whose dedupe key came earlier in the batch, or
        is already in the database (a batch run again), is left out."""
        keyed = {(item.user_id, item.dedupe_key) for item in self.pending if item.dedupe_key is not None}
        existing: set[tuple[int, str | None]] = set()
        if len(keyed) == 1:  # the usual batch: one key (compiled read)
            user_id, dedupe_key = next(iter(keyed))
            if _keyed_notification.run(user=user_id, key=dedupe_key):
                existing.add((user_id, dedupe_key))
        elif keyed:
            match = Q()
            for user_id, dedupe_key in keyed:
                match |= Q(user_id=user_id, dedupe_key=dedupe_key)
            existing = set(Notification.objects.filter(match).values_list("user_id", "dedupe_key"))
        fresh = []
        for notification in self.pending:
            if notification.dedupe_key is not None:
                seen = (notification.user_id, notification.dedupe_key)
                if seen in existing:
                    continue
                existing.add(seen)
            fresh.append(notification)
        return fresh


# A batch's usual reads, one person and one dedupe key, compiled once per process.
_preference_of = Compiled(lambda user: NotificationPreference.objects.filter(user_id=user))
_keyed_notification = Compiled(
    lambda user, key: Notification.objects.filter(user_id=user, dedupe_key=key).only("pk").order_by()[:1]
)


_current_batch: ContextVar[NotificationBatch | None] = ContextVar("notification_batch", default=None)


@contextmanager
def notifications_batched() -> Iterator[NotificationBatch]:
    """Within the block, `notify()` records instead of writing; the block's end writes them all
    (call inside the transaction that should hold them)."""
    batch = NotificationBatch()
    token = _current_batch.set(batch)
    try:
        yield batch
    finally:
        _current_batch.reset(token)
    batch.write()
