"""Payments' Celery tasks: thin, take ids, idempotent. Those sent through the outbox confirm it."""

import datetime

from celery import shared_task
from django.utils import timezone

from payments import actions, receipts, reconciliation
from workflows.outbox import outbox_confirm


@shared_task(name="payments.webhook_process")
def webhook_process(*, webhook_event_id: int, outbox_id: int | None = None) -> None:
    actions.webhook_process(webhook_event_id=webhook_event_id, outbox_id=outbox_id)


@shared_task(name="payments.refund_send")
def refund_send(*, refund_id: int, outbox_id: int | None = None) -> str:
    return actions.refund_send(refund_id=refund_id, outbox_id=outbox_id)


@shared_task(name="payments.receipt_issue")
def receipt_issue(*, payment_id: int | None = None, refund_id: int | None = None, outbox_id: int | None = None) -> None:
    if payment_id is not None:
        receipts.payment_receipt_issue(payment_id=payment_id)
    if refund_id is not None:
        receipts.refund_receipt_issue(refund_id=refund_id)
    outbox_confirm(outbox_id)


@shared_task(name="payments.application_settle")
def application_settle(*, application_id: int, outbox_id: int | None = None) -> int:
    return len(actions.application_settle(application_id=application_id, outbox_id=outbox_id))


@shared_task(name="payments.expire")
def expire() -> int:
    return actions.payments_expire()


@shared_task(name="payments.reconcile")
def reconcile(day: str | None = None) -> int:
    """Yesterday (local), unless a day is given: the provider's report of a day is complete the
    next morning."""
    when = datetime.date.fromisoformat(day) if day else timezone.localdate() - datetime.timedelta(days=1)
    return reconciliation.reconcile(day=when).mismatches.count()
