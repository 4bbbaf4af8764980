"""The append-only application events (DESIGN §5.8): one per state change.

A work item's status change writes an event naming the work item; an application's status
change writes an event without one. So the citizen's timeline and the audit trail are two
views of the same rows, and each row says who, what, when, from → to and why.

The rows are append-only; each becomes a leaf of the transparency log after it commits (the
sequencer in workflows/transparency/ adds it). Inserting one takes no lock beyond the row: no
global lock, no read of "the last row".
"""

from typing import Any

from accounts.models import User
from workflows.models import Application, ApplicationEvent, WorkItem
from workflows.notifications import hooks


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
    """Writes one event. Call under the application's row lock (inside its transaction)."""
    event = ApplicationEvent.objects.create(
        application=application,
        work_item=work_item,
        actor=actor,
        kind=kind,
        from_status=from_status,
        to_status=to_status,
        reason=reason,
        payload=payload or {},
    )
    # Notifications (receipt, correction, decision, deadlines…) in the same transaction.
    hooks.on_event(event)
    return event
