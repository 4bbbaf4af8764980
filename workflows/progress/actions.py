"""Writes for following progress: reading notifications, rating a service, following up a rating.

Keyword-only, typed, one transaction each (STYLE.md)."""

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Department, Role, User
from workflows.engine import clock
from workflows.engine.actions import acts_for
from workflows.models import (
    Application,
    Notification,
    NotificationPreference,
    Rating,
    RatingFollowUp,
    WorkItem,
)
from workflows.progress.notify import notify

# A rating this low opens a follow-up in the department supervisor's queue (好差评 整改).
FOLLOW_UP_AT_OR_BELOW = 2
FOLLOW_UP_WORKING_DAYS = 15
RATEABLE = (Application.Status.APPROVED, Application.Status.REJECTED)
SUPERVISING_ROLES = (Role.SUPERVISOR, Role.DEPARTMENT_ADMIN)


class RatingRefused(Exception):
    """The rating was refused and nothing was saved. The message is for the applicant."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


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
            due_at=clock.add_working_days(rating.created_at, FOLLOW_UP_WORKING_DAYS),
        )
    return rating


def supervised_departments(user: User) -> Q | None:
    """A filter on department for what `user` supervises; None means every department."""
    if user.is_superuser:
        return None
    return Q(department__memberships__user=user, department__memberships__role__in=SUPERVISING_ROLES)


def supervised_department_ids(user: User) -> list[int] | None:
    """The departments `user` supervises (None: all, for administrators)."""
    if user.is_superuser:
        return None
    return list(
        Department.objects.filter(memberships__user=user, memberships__role__in=SUPERVISING_ROLES)
        .values_list("pk", flat=True)
        .distinct()
    )


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
