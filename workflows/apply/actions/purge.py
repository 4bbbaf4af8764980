"""Abandoned drafts: a reminder by e-mail, then the purge."""

import datetime
import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import override

from lib.text import join_names
from workflows.models import ApplicationGroup

# --- Abandoned drafts ---------------------------------------------------------------------

logger = logging.getLogger("workflows.apply.actions")


@dataclass
class PurgeResult:
    reminded: int = 0
    purged: int = 0


def _reminder_mail(group: ApplicationGroup, purge_on: datetime.date) -> None:
    applicant = group.applicant
    if not applicant.email:
        return
    with override(applicant.preferred_language or settings.LANGUAGE_CODE):
        names = join_names(v.service.name for v in group.versions.all())
        what = str(group.life_event.name) if group.life_event else names
        link = settings.PUBLIC_BASE_URL.rstrip("/") + reverse("workflows:apply-resume", args=[group.pk])
        send_mail(
            subject=_("Your draft application will be deleted soon"),
            message=_(
                "Hello %(name)s,\n\nyou started an application for %(what)s and have not changed it for a while. "
                "Unless you continue it, it will be deleted on %(date)s. Continue it from My applications "
                "(%(link)s).\n\nOne Door"
            )
            % {"name": applicant.name, "what": what, "date": date_format(purge_on, "DATE_FORMAT"), "link": link},
            from_email=None,
            recipient_list=[applicant.email],
        )


def drafts_purge(*, now: datetime.datetime | None = None) -> PurgeResult:
    """Reminds applicants of drafts untouched for (purge − reminder) days, then deletes drafts
    untouched for DRAFT_PURGE_DAYS whose reminder went out at least DRAFT_REMINDER_DAYS ago.

    A reminder is claimed with a conditional update before the e-mail is sent, so two sweeps
    never send it twice. The vault documents a purged draft used stay in the vault.
    """
    now = now or timezone.now()
    purge_days, remind_days = settings.DRAFT_PURGE_DAYS, settings.DRAFT_REMINDER_DAYS
    result = PurgeResult()
    drafts = ApplicationGroup.objects.filter(submitted_at__isnull=True)
    due_for_reminder = drafts.filter(
        purge_reminder_sent_at__isnull=True, updated_at__lte=now - datetime.timedelta(days=purge_days - remind_days)
    )
    for group in due_for_reminder.select_related("applicant", "life_event").prefetch_related("versions__service"):
        # `update` leaves updated_at alone: a reminder is not activity.
        claimed = ApplicationGroup.objects.filter(
            pk=group.pk, purge_reminder_sent_at__isnull=True, submitted_at__isnull=True
        ).update(purge_reminder_sent_at=now)
        if claimed != 1:
            continue
        purge_on = timezone.localdate(
            max(group.updated_at + datetime.timedelta(days=purge_days), now + datetime.timedelta(days=remind_days))
        )
        try:
            _reminder_mail(group, purge_on)
        except Exception:  # the mail server may be down: send again next sweep
            logger.exception("draft reminder for group %s not sent", group.pk)
            ApplicationGroup.objects.filter(pk=group.pk).update(purge_reminder_sent_at=None)
            continue
        result.reminded += 1
    expired = drafts.filter(
        updated_at__lte=now - datetime.timedelta(days=purge_days),
        purge_reminder_sent_at__lte=now - datetime.timedelta(days=remind_days),
    )
    untouched_since = now - datetime.timedelta(days=purge_days)
    for group_id in expired.values_list("pk", flat=True):
        with transaction.atomic():
            expired_draft = (
                ApplicationGroup.objects.select_for_update(skip_locked=True)
                .filter(pk=group_id, submitted_at__isnull=True, updated_at__lte=untouched_since)
                .first()
            )
            if expired_draft is None:
                continue  # touched, submitted or being edited right now
            expired_draft.delete()
            result.purged += 1
    return result
