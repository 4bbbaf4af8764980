"""The notification service other parts of the portal call: `notify(...)`.

Call it inside the transaction that makes the event true (a transition, a timer firing):
it writes the Notification, one NotificationDelivery per channel the person chose, and
outbox rows for the channels that leave the portal. Nothing is sent unless that
transaction commits, and the delivery task sends each (notification, channel) once.

Texts come from templates/notifications/<language>/<event>.txt (first line: subject;
after a blank line: body) and <event>.sms.txt, in the recipient's preferred language.
"""

import json
from contextlib import nullcontext
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import User
from workflows.models import Application, Notification, NotificationDelivery, NotificationPreference
from workflows.outbox import outbox_enqueue

DELIVER_TASK = "workflows.progress.deliver"
TEMPLATE_LANGUAGES = ("en", "zh-hans")

Channel = NotificationDelivery.Channel


def recipient_language(user: User) -> str:
    language = (user.preferred_language or "en").lower()
    return "zh-hans" if language.startswith("zh") else "en" if language not in TEMPLATE_LANGUAGES else language


def channels_for(user: User) -> list[str]:
    """In-app always; e-mail and SMS when chosen and the person has an address or number."""
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
    """
    if event not in Notification.Event.values:
        raise ValueError(f"unknown notification event {event!r}")
    if dedupe_key is not None:
        existing = Notification.objects.filter(user=user, dedupe_key=dedupe_key).first()
        if existing is not None:
            return existing
    language = recipient_language(user)
    if not link and application is not None:
        link = application_path(application)
    values = _template_context(user=user, application=application, context=context, language=language, link=link)
    subject, body, sms_text = render_texts(event=event, language=language, context=values)
    stored_context = json.loads(json.dumps({k: _storable(v) for k, v in context.items()}, cls=DjangoJSONEncoder))
    try:
        # A savepoint inside the caller's transaction, unless the caller retries it whole.
        with transaction.atomic() if savepoint else nullcontext():
            notification = Notification.objects.create(
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
            now = timezone.now()
            for channel in channels_for(user):
                if channel == Channel.IN_APP:
                    # The inbox row is the delivery: it is there as soon as the event commits.
                    NotificationDelivery.objects.create(
                        notification=notification, channel=channel, state=NotificationDelivery.State.SENT, sent_at=now
                    )
                    continue
                delivery = NotificationDelivery.objects.create(notification=notification, channel=channel)
                outbox_enqueue(task=DELIVER_TASK, kwargs={"delivery_id": delivery.pk})
    except IntegrityError:
        if dedupe_key is None or not savepoint:
            raise
        # Two callers raced on the same key: the other one's row stands.
        return Notification.objects.get(user=user, dedupe_key=dedupe_key)
    return notification
