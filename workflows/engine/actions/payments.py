"""The route's payment step (kind `payment`): the payments app tells the engine that the fees are
paid, and the route goes on. The engine knows nothing of providers or charges."""

from django.db import transaction
from django.utils import timezone

from workflows import clock
from workflows.engine import routing
from workflows.models import Application, ApplicationEvent, WorkItem

PAYABLE = (Application.Status.IN_PROGRESS, Application.Status.AWAITING_APPLICANT)


def payment_step_waiting(application: Application) -> WorkItem | None:
    """The application's payment step while it waits for the applicant's payment, or None."""
    return (
        WorkItem.objects.filter(application=application, kind=WorkItem.Kind.PAYMENT, status=WorkItem.Status.WAITING)
        .select_related("department")
        .order_by("-round")
        .first()
    )


def payment_step_paid(*, application_id: int, reference: str) -> bool:
    """The payment step is done: its clock restarts (the application's due time moves later by
    the working days spent waiting for the payment) and the route goes on. False when no payment
    step waits (already done, or the application is finished): nothing changes."""
    with transaction.atomic():
        application = routing.application_lock(application_id)
        if application.status not in PAYABLE:
            return False
        item = (
            WorkItem.objects.select_for_update(of=("self",))
            .filter(application=application, kind=WorkItem.Kind.PAYMENT, status=WorkItem.Status.WAITING)
            .select_related("department")
            .order_by("-round")
            .first()
        )
        if item is None:
            return False
        item.application = application
        now = timezone.now()
        if application.statutory_due_at and item.clock_stopped_at:
            application.statutory_due_at = clock.resume_due_at(
                application.statutory_due_at, stopped_at=item.clock_stopped_at, resumed_at=now
            )
            application.save(update_fields=["statutory_due_at", "updated_at"])
        item.clock_stopped_at = None
        item.result = {**item.result, "payment": reference}
        routing.item_set_status(
            item,
            WorkItem.Status.DONE,
            kind=ApplicationEvent.Kind.STEP_COMPLETED,
            payload={"payment": reference},
            fields=["clock_stopped_at", "result"],
        )
        routing.advance_locked(application)
        return True
