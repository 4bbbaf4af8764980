"""The transactional outbox (DESIGN §5.1): state changes record the task to send in the same
transaction; the task is sent only after commit, and a relay re-sends what was not confirmed."""

from typing import Any

from celery import current_app
from django.db import transaction
from django.utils import timezone

from workflows.models import OutboxMessage


def outbox_enqueue(*, task: str, kwargs: dict[str, Any], queue: str = "default") -> OutboxMessage:
    """Records a task to send once the surrounding transaction commits. Call inside it."""
    message = OutboxMessage.objects.create(task=task, kwargs=kwargs, queue=queue)
    transaction.on_commit(lambda: outbox_send(message_id=message.pk))
    return message


def outbox_send(*, message_id: int) -> None:
    """Sends one outbox row to the broker (or runs it in-process in the embedded mode).

    Never called inside a transaction. A failure leaves the row for the relay to re-send.
    """
    message = OutboxMessage.objects.filter(pk=message_id, confirmed_at__isnull=True).first()
    if message is None:
        return
    kwargs = {**message.kwargs, "outbox_id": message.pk}
    try:
        if current_app.conf.task_always_eager:
            current_app.tasks[message.task].apply(kwargs=kwargs, throw=True)
        else:
            current_app.send_task(message.task, kwargs=kwargs, queue=message.queue)
    except Exception as exc:  # noqa: BLE001 - the broker may be down; the relay will re-send
        OutboxMessage.objects.filter(pk=message.pk).update(attempts=message.attempts + 1, last_error=str(exc)[:500])
        return
    OutboxMessage.objects.filter(pk=message.pk).update(sent_at=timezone.now(), attempts=message.attempts + 1)
