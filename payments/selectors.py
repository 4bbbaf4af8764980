"""Reads of payments, already scoped to who asks: finance staff see their departments'
payments, refunds and mismatches (like the workbench: membership-filtered SQL, DESIGN §6);
payers see their own."""

from django.db.models import QuerySet

from accounts.models import User
from accounts.selectors import FINANCE_ROLES, department_ids, has_role
from payments.models import Mismatch, Payment, Refund
from workflows.progress.selectors import applications_for_applicant


def is_finance(user: User) -> bool:
    return user.is_authenticated and has_role(user, FINANCE_ROLES)


def payments_for_finance(*, user: User, state: str = "") -> QuerySet[Payment]:
    rows = Payment.objects.filter(department_id__in=department_ids(user=user, roles=FINANCE_ROLES))
    if state:
        rows = rows.filter(state=state)
    return rows.select_related("application", "department").order_by("-created_at", "-pk")


def payment_for_finance(*, user: User, reference: str) -> Payment:
    """Raises Payment.DoesNotExist outside the user's finance departments."""
    return payments_for_finance(user=user).get(reference=reference)


def refunds_for_finance(*, user: User) -> QuerySet[Refund]:
    return (
        Refund.objects.filter(payment__department_id__in=department_ids(user=user, roles=FINANCE_ROLES))
        .select_related("payment__application", "requested_by")
        .order_by("-created_at", "-pk")
    )


def mismatches_for_finance(*, user: User) -> QuerySet[Mismatch]:
    return (
        Mismatch.objects.filter(department_id__in=department_ids(user=user, roles=FINANCE_ROLES))
        .select_related("run", "payment")
        .order_by("-run__day", "pk")
    )


def payment_for_payer(*, user: User, reference: str) -> Payment:
    """A payment of an application the person follows; raises Payment.DoesNotExist otherwise."""
    return Payment.objects.select_related("application").get(
        reference=reference, application__in=applications_for_applicant(user=user)
    )


def payments_of_application(application) -> QuerySet[Payment]:
    return application.payments.prefetch_related("refunds").order_by("created_at", "pk")
