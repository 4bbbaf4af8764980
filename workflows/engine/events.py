"""The append-only application events (DESIGN §5.8): one per state change.

A work item's status change writes an event naming the work item; an application's status
change writes an event without one. So the citizen's timeline and the audit trail are two
views of the same rows, and each row says who, what, when, from → to and why.

The rows are append-only; each becomes a leaf of the transparency log after it commits (the
sequencer in workflows/transparency/ adds it). Inserting one takes no lock beyond the row: no
global lock, no read of "the last row".
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from accounts.models import User
from workflows.models import Application, ApplicationEvent, WorkItem
from workflows.notifications import hooks

# The events a transition has recorded and not yet inserted (None: insert each at once).
_pending: ContextVar[list[ApplicationEvent] | None] = ContextVar("pending_events", default=None)


def event_record(
    *,
    application: Application,
    kind: ApplicationEvent.Kind,
    from_status: str = "",
    to_status: str = "",
    actor: User | None = None,
    work_item: WorkItem | None = None,
    reason: str = "",
    payload: dict[str, Any] | None = None,
) -> ApplicationEvent:
    """Writes one event. Call under the application's row lock (inside its transaction).

    Inside `events_together()` the event is only recorded, and inserted with the others of the
    block at its end (then it has its id)."""
    event = ApplicationEvent(
        application=application,
        work_item=work_item,
        actor=actor,
        kind=kind,
        from_status=from_status,
        to_status=to_status,
        reason=reason,
        payload=payload or {},
    )
    pending = _pending.get()
    if pending is not None:
        pending.append(event)
        return event
    event.save(force_insert=True)
    # Notifications (receipt, correction, decision, deadlines…): an outbox row, nothing more.
    hooks.on_event(event)
    return event


@contextmanager
def events_together() -> Iterator[None]:
    """The events recorded in the block are inserted together at its end, in the order they
    were recorded: one INSERT for a transition that writes several (a step decided and the
    next one opened, an application started with its first steps). Work items the events
    name must be saved by the end of the block. Inside another such block, joins it."""
    if _pending.get() is not None:
        yield
        return
    pending: list[ApplicationEvent] = []
    token = _pending.set(pending)
    try:
        yield
    finally:
        _pending.reset(token)
    if pending:
        ApplicationEvent.objects.bulk_create(pending)
        for event in pending:
            hooks.on_event(event)
