"""Rules every transition of the engine shares: the lock order, who acts for an applicant, and
the refusals that end a transition before it changes anything."""

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from accounts.models import User
from workflows.engine import routing
from workflows.engine.errors import TransitionRefused
from workflows.engine.selectors import delegated_to
from workflows.models import Application, Timer, WorkItem

DEADLINE_TIMERS = (Timer.Kind.DEADLINE_WARNING, Timer.Kind.ESCALATION)
CORRECTION_TIMERS = (Timer.Kind.CORRECTION_DEADLINE, Timer.Kind.CORRECTION_REMINDER)


def lock_application_of_item(work_item_id: int) -> Application:
    """The application of a work item, locked (the engine's lock order: application first)."""
    application = routing.application_lock_of_item(work_item_id)
    if application is None:
        raise TransitionRefused(_("This work item does not exist."))
    return application


def item_with_locked_application(work_item_id: int) -> tuple[Application, WorkItem]:
    """The work item and its application, the application locked, in one statement. Fresh: the
    application. The item's columns may predate a change that committed while this waited for
    the lock, so decide only with a conditional update, and read it again to explain a refusal."""
    assert transaction.get_connection().in_atomic_block, "lock the application inside a transaction"
    item = (
        WorkItem.objects.select_related("application", "department", "assignee")
        .select_for_update(of=("application",))
        .filter(pk=work_item_id)
        .first()
    )
    if item is None:
        raise TransitionRefused(_("This work item does not exist."))
    application = routing.with_version(item.application)
    item.application = application
    return application, item


def locked_items(work_item_id: int) -> tuple[Application, WorkItem, dict[str, WorkItem]]:
    """The work item, its application and the application's current work items, all locked
    (application first, as everywhere), read once for the whole transition."""
    application = lock_application_of_item(work_item_id)
    current = routing.current_items(application, lock=True)
    item = next((found for found in current.values() if found.pk == work_item_id), None)
    if item is None:  # an earlier round of a transferred step
        item = (
            WorkItem.objects.select_for_update(of=("self",))
            .select_related("department", "assignee")
            .get(pk=work_item_id)
        )
        item.application = application
    return application, item, current


def locked_item(work_item_id: int) -> tuple[Application, WorkItem]:
    """The work item and its application, both locked (application first, as everywhere)."""
    application = lock_application_of_item(work_item_id)
    item = (
        WorkItem.objects.select_for_update(of=("self",)).select_related("department", "assignee").get(pk=work_item_id)
    )
    item.application = application
    return application, item


def acts_for(user: User, application: Application) -> bool:
    """Whether `user` may act on the application as its applicant: they made it, it was made on
    behalf of an organisation they represent (every representative follows its applications),
    or its applicant gave them an active mandate for its service that lets them submit."""
    if application.applicant_id == user.pk:
        return True
    return Application.objects.filter(
        Q(group__organisation__in=user.organisations.values("pk")) | Q(delegated_to(user, may_submit=True)),
        pk=application.pk,
    ).exists()


def refuse_unless_acts_for(user: User, application: Application) -> None:
    """Refuses a person who may not act on the application as its applicant. A delegate whose
    mandate only lets them prepare is told so; anyone else hears that it does not exist."""
    if acts_for(user, application):
        return
    if Application.objects.filter(delegated_to(user), pk=application.pk).exists():
        raise TransitionRefused(
            _(
                "Your mandate lets you follow this application and prepare drafts, not answer or withdraw for "
                "the applicant. They can do it themselves."
            )
        )
    raise TransitionRefused(_("This application does not exist."))


def refuse_if_finished(application: Application) -> None:
    if application.is_finished:
        raise TransitionRefused(
            _("Application %(number)s is already %(status)s; nothing more can be done on it.")
            % {"number": application.number, "status": application.get_status_display().lower()}
        )


def refuse_unless_assignee(item: WorkItem, actor: User) -> None:
    if item.status != WorkItem.Status.CLAIMED or item.assignee_id != actor.pk:
        raise TransitionRefused(_("Only the clerk who has claimed this step can do that. Claim it first."))
