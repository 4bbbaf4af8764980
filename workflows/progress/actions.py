"""Writes for following progress: reading notifications, rating a service, following up a rating.

Keyword-only, typed, one transaction each (STYLE.md)."""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Department, User
from accounts.selectors import department_supervisors, supervised_department_ids
from lib.refusals import Refused
from workflows import clock
from workflows.engine.actions import acts_for
from workflows.models import (
    Application,
    Notification,
    NotificationPreference,
    Rating,
    RatingFollowUp,
    WorkItem,
)
from workflows.notifications.notify import notify

logger = logging.getLogger(__name__)

# A rating this low opens a follow-up in the department supervisor's queue (好差评 整改).
FOLLOW_UP_AT_OR_BELOW = 2
FOLLOW_UP_WORKING_DAYS = 15
RATEABLE = (Application.Status.APPROVED, Application.Status.REJECTED)
# The department's supervisors are reminded when this much working time is left on a follow-up.
FOLLOW_UP_REMIND_WORKING_DAYS = 2


class RatingRefused(Refused):
    """The rating was refused and nothing was saved. The message is for the applicant."""

    status_code = 400


class FollowUpRefused(RatingRefused):
    """Recording a follow-up was refused; the message is for the supervisor."""


# --- Notifications ----------------------------------------------------------------------------


def notification_mark_read(*, user: User, notification_id: int) -> Notification:
    """Marks one of the person's own notifications read (raises DoesNotExist for others')."""
    notification = Notification.objects.get(pk=notification_id, user=user)
    if notification.read_at is None:
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=timezone.now())
        notification.refresh_from_db(fields=["read_at"])
    return notification


def notifications_mark_all_read(*, user: User) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).update(read_at=timezone.now())


def notification_preference_set(*, user: User, email: bool, sms: bool, phone: str) -> NotificationPreference:
    preference, _created = NotificationPreference.objects.update_or_create(
        user=user, defaults={"email": email, "sms": sms, "phone": phone.strip()}
    )
    return preference


# --- Ratings ------------------------------------------------------------------------------------


def rateable_steps(application: Application) -> list[WorkItem]:
    """The department steps of an application the applicant may rate separately (bundles)."""
    items = (
        application.work_items.filter(status=WorkItem.Status.DONE)
        .exclude(kind=WorkItem.Kind.AUTOMATIC)
        .select_related("department")
        .order_by("step_key", "-round")
    )
    latest: dict[str, WorkItem] = {}
    for item in items:
        latest.setdefault(item.step_key, item)
    return list(latest.values())


@transaction.atomic
def rating_submit(
    *, applicant: User, application: Application, score: int, comment: str = "", step_key: str = ""
) -> Rating:
    """Rates a decided application (or one department step of it) once; 1–2 opens a follow-up."""
    application = Application.objects.select_for_update().get(pk=application.pk)
    if not acts_for(applicant, application):
        raise Application.DoesNotExist
    if application.status not in RATEABLE:
        raise RatingRefused(_("You can rate the service once a decision has been made on the application."))
    if not isinstance(score, int) or not 1 <= score <= 5:
        raise RatingRefused(_("Choose a rating from 1 to 5."))
    department: Department = application.service.lead_department
    if step_key:
        step = next((item for item in rateable_steps(application) if item.step_key == step_key), None)
        if step is None:
            raise RatingRefused(_("This step cannot be rated."))
        department = step.department
    if Rating.objects.filter(application=application, step_key=step_key).exists():
        raise RatingRefused(_("You have already rated this."))
    try:
        with transaction.atomic():
            rating = Rating.objects.create(
                application=application,
                step_key=step_key,
                department=department,
                applicant=applicant,
                score=score,
                comment=comment.strip()[:2000],
            )
    except IntegrityError as exc:  # a double click that raced past the check above
        raise RatingRefused(_("You have already rated this.")) from exc
    if score <= FOLLOW_UP_AT_OR_BELOW:
        RatingFollowUp.objects.create(
            rating=rating,
            department=department,
            due_at=clock.add_working_days(rating.created_at, FOLLOW_UP_WORKING_DAYS, strict=False),
        )
    return rating


@transaction.atomic
def follow_up_record(*, supervisor: User, follow_up_id: int, outcome: str) -> RatingFollowUp:
    """The supervisor records what was done; the applicant is told. Outsiders: DoesNotExist."""
    departments = supervised_department_ids(supervisor)
    follow_ups = RatingFollowUp.objects.select_for_update().select_related("rating__application", "department")
    if departments is not None:
        follow_ups = follow_ups.filter(department_id__in=departments)
    follow_up = follow_ups.get(pk=follow_up_id)
    outcome = outcome.strip()
    if not outcome:
        raise FollowUpRefused(_("Write what was done to follow up the rating."))
    if follow_up.status != RatingFollowUp.Status.OPEN:
        raise FollowUpRefused(_("This follow-up has already been recorded."))
    follow_up.status = RatingFollowUp.Status.DONE
    follow_up.outcome = outcome[:5000]
    follow_up.handled_by = supervisor
    follow_up.handled_at = timezone.now()
    follow_up.save(update_fields=["status", "outcome", "handled_by", "handled_at"])
    rating = follow_up.rating
    notify(
        user=rating.applicant,
        event=Notification.Event.FOLLOW_UP_OUTCOME,
        context={"outcome": follow_up.outcome, "department": follow_up.department},
        application=rating.application,
        dedupe_key=f"follow-up:{follow_up.pk}",
    )
    return follow_up


# --- Follow-up reminders --------------------------------------------------------------------


@dataclass
class FollowUpReminders:
    """What one sweep sent: follow-ups whose supervisors were reminded, and told of overdue."""

    reminded: int = 0
    overdue: int = 0


@transaction.atomic
def _follow_up_remind(*, follow_up_id: int, overdue: bool, now: datetime) -> tuple[str, int] | None:
    """Claims one reminder of one follow-up and notifies its department's supervisors, in one
    transaction: the claim and the notifications commit together or not at all.

    The claim is an update that only matches while the follow-up is open and the reminder
    unsent, so a second sweep (or one racing this) updates nothing and sends nothing. Returns
    the department's code and how many supervisors were notified, or None when there was
    nothing to claim.
    """
    unsent = RatingFollowUp.objects.filter(pk=follow_up_id, status=RatingFollowUp.Status.OPEN)
    if overdue:
        claimed = unsent.filter(overdue_notified_at__isnull=True).update(overdue_notified_at=timezone.now())
    else:
        # Never "due soon" after the overdue notice (a sweep that ran late).
        claimed = unsent.filter(reminded_at__isnull=True, overdue_notified_at__isnull=True).update(
            reminded_at=timezone.now()
        )
    if claimed != 1:
        return None
    follow_up = RatingFollowUp.objects.select_related("rating__application__service", "department").get(pk=follow_up_id)
    kind = "overdue" if overdue else "due"
    link = reverse("workflows:progress-follow-up", args=[follow_up.pk])
    supervisors = list(department_supervisors(department_id=follow_up.department_id))
    for user in supervisors:
        notify(
            user=user,
            event=Notification.Event.FOLLOW_UP_DUE,
            context={
                "overdue": overdue,
                "due": clock.due_date(follow_up.due_at),
                "days_left": clock.working_days_left(follow_up.due_at, now=now),
                "department": follow_up.department,
                "score": follow_up.rating.score,
            },
            application=follow_up.rating.application,
            link=link,
            dedupe_key=f"follow-up-{kind}:{follow_up.pk}",
        )
    return follow_up.department.code, len(supervisors)


def _due_soon_horizon(now: datetime) -> datetime:
    """The end of the FOLLOW_UP_REMIND_WORKING_DAYS-th working day after today: every follow-up
    to remind now is due by then (due times are ends of working days)."""
    return clock.add_working_days(now, FOLLOW_UP_REMIND_WORKING_DAYS, strict=False)


def rating_follow_ups_remind(*, now: datetime | None = None, limit: int = 200) -> FollowUpReminders:
    """The beat's sweep over open follow-ups of poor ratings. Tells the department's supervisors
    once when FOLLOW_UP_REMIND_WORKING_DAYS working days are left, and once when it is overdue.

    Each reminder is claimed and sent in its own transaction (`_follow_up_remind`); one that
    fails is rolled back, logged, and tried again by the next sweep. `now` lets a test (or a
    catch-up run) sweep as of another moment.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    calendar = clock.Calendar(today - timedelta(days=31), today + timedelta(days=366))
    open_follow_ups = RatingFollowUp.objects.filter(status=RatingFollowUp.Status.OPEN)
    overdue_ids = list(
        open_follow_ups.filter(overdue_notified_at__isnull=True, due_at__lt=now)
        .order_by("due_at")
        .values_list("pk", flat=True)[:limit]
    )
    due_soon = open_follow_ups.filter(
        reminded_at__isnull=True,
        overdue_notified_at__isnull=True,
        due_at__gte=now,
        due_at__lte=_due_soon_horizon(now),
    ).order_by("due_at")
    due_soon_ids = [
        pk
        for pk, due_at in due_soon.values_list("pk", "due_at")[:limit]
        # Working days left after today: reminded on the working day two before the due date.
        if calendar.working_days_in(today + timedelta(days=1), clock.due_date(due_at)) <= FOLLOW_UP_REMIND_WORKING_DAYS
    ]
    result = FollowUpReminders()
    for follow_up_id, overdue in [(pk, True) for pk in overdue_ids] + [(pk, False) for pk in due_soon_ids]:
        try:
            sent = _follow_up_remind(follow_up_id=follow_up_id, overdue=overdue, now=now)
        except Exception:  # one follow-up's failure must not stop the others; retried next sweep
            logger.exception("rating follow-up reminder failed follow_up=%s", follow_up_id)
            continue
        if sent is None:
            continue  # handled meanwhile, or another sweep sent it
        department, supervisors = sent
        kind = "overdue" if overdue else "due"
        logger.info(
            "rating follow-up reminder sent follow_up=%s department=%s kind=%s supervisors=%s",
            follow_up_id,
            department,
            kind,
            supervisors,
        )
        if not supervisors:
            logger.warning(
                "rating follow-up reminder reached nobody follow_up=%s department=%s", follow_up_id, department
            )
        if overdue:
            result.overdue += 1
        else:
            result.reminded += 1
    return result
